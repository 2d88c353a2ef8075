"""`tritherm bench coupler`: the table, the rate formulas, the cache and the verdicts (the
parts that need no place-and-route), and `inverse`'s exact discrete target."""

import json
import os

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tritherm import bench
from tritherm.boards.synth import Harness
from tritherm.bench import (ACCURACY_SAMPLES, AccuracyRow, CouplerBenchRow,
                                   accuracy_verdict, coupler_bench_table, coupler_cycles,
                                   coupler_multipliers, coupler_noise,
                                   discrete_inverse_target,
                                   failed_placement, pair_verdict, placement_key,
                                   spd_test_matrix)
from tritherm.cli import main
from tritherm.formats import coupler_cycles_per_step
from tritherm.hdl.thermo import Coupler

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")


def test_test_matrix_is_the_readme_a8():
    A = spd_test_matrix()
    assert A.shape == (8, 8) and np.array_equal(A, A.T)
    np.testing.assert_allclose(np.linalg.eigvalsh(A), np.geomspace(1, 10, 8), rtol=1e-12)
    # The README builds A8 from the QR of a seed-1 Gaussian: the same rows come out.
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(8, 8)))
    np.testing.assert_allclose(A @ q[:, 0], q[:, 0], atol=1e-12)      # eigenvalue 1
    assert np.array_equal(spd_test_matrix(), A)
    assert not np.allclose(spd_test_matrix(seed=2), A)
    assert spd_test_matrix(64).shape == (64, 64)


def _dsps(cells, m):
    core = Coupler(cells, m)
    core._MustUse__silence = True
    return core.dsp_count


@pytest.mark.parametrize("cells", [2, 6, 8, 16, 64])
@pytest.mark.parametrize("budget", [8, 156])
def test_multipliers_are_the_most_that_fit(cells, budget):
    m = coupler_multipliers(cells, budget, shaper_dsps=2)
    assert m & (m - 1) == 0 and cells % m == 0
    assert _dsps(cells, m) + 2 <= budget
    bigger = 2 * m
    assert bigger > cells or cells % bigger or _dsps(cells, bigger) + 2 > budget


def test_multipliers_fall_back_to_one():
    assert coupler_multipliers(8, 3, shaper_dsps=2) == 1


def _noise_pace(cells, m, unroll, pipelined):
    core = Coupler(cells, m, noise_unroll=unroll, noise_pipelined=pipelined)
    core._MustUse__silence = True
    return core.noise_cycles_per_step


def test_cycles_are_the_schedule_or_the_noise_pace():
    for cells, m in ((8, 4), (16, 4), (64, 64)):
        once = coupler_cycles_per_step(cells, m, sample=True)
        plain = coupler_cycles_per_step(cells, m, sample=False)
        unroll, pipelined = coupler_noise(cells, m)
        assert _noise_pace(cells, m, unroll, pipelined) <= once
        assert coupler_cycles(cells, m, unroll, pipelined) == once
        # Four steps with one sample take one sampled step and three plain ones.
        assert coupler_cycles(cells, m, unroll, pipelined, thin=4) * 4 == once + 3 * plain
    # 8 cells on 8 multipliers wait for the default noise source (4 rounds a cycle).
    assert coupler_cycles(8, 8) == _noise_pace(8, 8, 4, False) > coupler_cycles_per_step(8, 8)


def test_noise_is_the_smallest_that_keeps_up():
    for cells, m in ((8, 4), (8, 8), (16, 16), (64, 64)):
        choice = coupler_noise(cells, m)
        index = bench.NOISE_CONFIGS.index(choice)
        assert all(_noise_pace(cells, m, *c) > coupler_cycles_per_step(cells, m)
                   for c in bench.NOISE_CONFIGS[:index])
    assert coupler_noise(8, 4) == (4, False)         # the core's default keeps up


def test_rates_follow_fmax_cycles_and_tau():
    row = CouplerBenchRow("ice40", 8, 4, tau_steps=40.0, fmax_mhz=30.0, logic=3000,
                          logic_fraction=3000 / 5280, ff=2000, dsp=7, ram=8)
    cycles = coupler_cycles_per_step(8, 4, sample=True)
    assert row.steps_per_s == pytest.approx(30e6 / cycles)
    assert row.independent_per_s == pytest.approx(30e6 / cycles / 40.0)
    cells = row.table_cells()
    assert cells[0] == "iCE40UP5K" and cells[3] == "4 rounds/cycle"
    assert cells[4] == "3000 (57%)" and cells[10] == f"{30 / cycles:.3f}"
    assert "coupler 8" in coupler_bench_table([row])


def test_a_row_that_does_not_fit_has_no_rates():
    row = CouplerBenchRow("ice40", 64, 4, tau_steps=30.0, logic=40000, note="does not fit")
    assert row.steps_per_s is None and row.independent_per_s is None
    cells = row.table_cells()
    assert cells[8] == "-" and cells[10] == "-" and cells[12] == "-"
    assert cells[-1] == "does not fit"


NEXTPNR_OVERFULL = """\
Info: Device utilisation:
Info: \t         ICESTORM_LC:    5545/   5280   105%
Info: \t        ICESTORM_RAM:       8/     30    26%
Info: \t               SB_IO:       4/     39    10%
Info: \t        ICESTORM_DSP:       7/      8    87%
Info: Running main analytical placer, max placement attempts per cell = 3880898.
ERROR: Failed to expand region (0, 0) |_> (25, 31) of 5545 ICESTORM_LCs
"""


def test_an_overfull_placement_says_does_not_fit_with_nextpnr_counts():
    row = failed_placement(CouplerBenchRow("ice40", 8, 4), NEXTPNR_OVERFULL,
                           "nextpnr-ice40 failed: ERROR: Failed to expand region")
    assert (row.logic, row.ram, row.dsp) == (5545, 8, 7)
    assert row.logic_fraction == pytest.approx(5545 / 5280)
    assert row.note == "does not fit (5545 logic > 5280; nextpnr counts)"
    other = failed_placement(CouplerBenchRow("ice40", 8, 4), "", "nextpnr-ice40 failed: boom")
    assert other.note == "nextpnr-ice40 failed: boom" and other.logic is None


class _Tiny(wiring.Component):
    a: In(4)
    y: Out(4)

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.y.eq(self.a + 1)
        return m


def test_placements_are_cached_by_design_and_part(tmp_path, monkeypatch):
    monkeypatch.setenv("TRITHERM_CACHE", str(tmp_path))
    from amaranth.back import rtlil
    text = rtlil.convert(Harness(_Tiny()), name="top")
    key = placement_key(text, "ice40")
    assert key == placement_key(text, "ice40")
    assert key != placement_key(text, "ecp5") and key != placement_key(text + " ", "ice40")
    stored = {"logic": 12, "ram": 0, "dsp": 0, "fmax_mhz": 99.5, "note": "cached",
              "ff": 9, "logic_fraction": 12 / 5280}
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / f"{key}.json").write_text(json.dumps(stored))
    row = bench.place_cached(CouplerBenchRow("ice40", 8, 4), _Tiny, tmp_path / "work",
                              out=lambda line: None)
    assert (row.logic, row.ff, row.fmax_mhz, row.note) == (12, 9, 99.5, "cached")
    assert not (tmp_path / "work").exists()          # no tool ran


def test_inverse_error_against_the_discrete_target_is_within_its_standard_error():
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    from tritherm.sim.linalg import inverse
    A = spd_test_matrix()
    result = inverse(A, 5000, seed=SEED % (1 << 32))
    target = discrete_inverse_target(result)
    # The discrete target is the inverse of the quantised A: within 1% of numpy's, not equal.
    change = np.linalg.norm(target - result.exact) / np.linalg.norm(result.exact)
    assert 0 < change < 0.01
    se = np.linalg.norm(result.standard_error) / np.linalg.norm(target)
    error = np.linalg.norm(result.estimate - target) / np.linalg.norm(target)
    assert error < 4 * se
    # Control: against a target 50% off the same statistic fails.
    wrong = np.linalg.norm(result.estimate - 1.5 * target) / np.linalg.norm(1.5 * target)
    assert wrong > 4 * se


def test_verdicts_say_met_or_not():
    def acc(n, e):
        return AccuracyRow(n, e, e, 0.005, 6.0, 1.0)
    assert "met: 1.50%" in accuracy_verdict([acc(10 ** 4, 0.05), acc(ACCURACY_SAMPLES[-1], 0.015)])
    assert "NOT met" in accuracy_verdict([acc(ACCURACY_SAMPLES[-1], 0.025)])
    assert "not measured" in accuracy_verdict([acc(10 ** 5, 0.01)])
    cycles = coupler_cycles_per_step(8, 4, sample=True)
    fast = CouplerBenchRow("ice40", 8, 4, array=(4, 5), fmax_mhz=1.001 * cycles)
    slow = CouplerBenchRow("ice40", 8, 4, array=(4, 5), fmax_mhz=0.999 * cycles)
    full = CouplerBenchRow("ice40", 8, 4, array=(2, 5), note="does not fit (x)")
    assert pair_verdict(fast).startswith("Target met")
    assert pair_verdict(slow).startswith("Target NOT met")
    assert pair_verdict(full).startswith("Target NOT met") and "2x5" in pair_verdict(full)


@pytest.mark.parametrize("argv, message", [
    (["bench", "coupler", "--cells", "8,x"], "--cells takes cell counts"),
    (["bench", "coupler", "--cells", "257"], "--cells takes whole numbers from 2 to 256"),
    (["bench", "ternary", "--no-accuracy"], "apply to `tritherm bench coupler` only"),
])
def test_bad_options_are_one_sentence(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("mode", ["moments", "stream", "compact"])
def test_time_to_solution_counts_the_bytes_the_simulated_soc_sends(mode):
    """`link_bytes` (the time-to-solution table's link time) against the bytes `SocCore`
    really exchanges for a linalg run of 40 samples after a burn-in: moments, stream or
    compact stream (its last frame padded, then the saturation registers read)."""
    from tritherm.bench.coupler import link_bytes
    from tritherm.firmware.protocol import (Op, Reg, encode_frame, pack_moments_run,
                                            pack_read_regs, pack_run)
    from tritherm.sim.linalg import moment_block, prepare
    from tritherm.sim.verify import soc_vectors as sv
    config, n = sv.SOC_TEST_CONFIG, 40
    plan = prepare(spd_test_matrix(), burn_in=30, thin=4, n=100)
    after = []
    if mode == "moments":
        runs = [sv.Run(plan.burn_in, block=0xFFFF), sv.Run(n * plan.thin, block=moment_block(n))]
        commands = [encode_frame(Op.COUPLER_MOMENTS, pack_moments_run(r.steps, r.block))
                    for r in runs]
    else:
        runs = [sv.Run(plan.burn_in + n * plan.thin, compact=mode == "compact")]
        commands = [encode_frame(Op.COUPLER_STREAM if mode == "compact" else Op.COUPLER_RUN,
                                 pack_run(runs[0].steps))]
        if mode == "compact":
            after = [sv.Send(sv.frame(Op.READ_REGS, pack_read_regs(Reg.SATURATED_LO, 2)))]
    writes = sv.configure(plan.program.writes())
    result = sv.run_amaranth(config, writes + runs + after)
    sent = (sum(len(w.data) for w in writes + after) + sum(len(c) for c in commands))
    assert link_bytes(config, plan, n, mode == "moments", mode == "compact") == (
        sent, result["bytes"])
