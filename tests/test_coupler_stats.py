"""Coupler statistics (`tritherm.sim.coupler_stats`): the CI short version of `tritherm bench
coupler-stats` on Verilator, the error theory against closed forms, and the command.

The RTL run (both modes, 15,000 samples each, every third step) checks the sample covariance
of x against the exact discrete stationary covariance within 4 predicted standard errors,
against kT A^-1 within that of the discretisation bias, equipartition, and that the RTL's
samples equal the golden model's; a control shows the same checks fail for a wrong kT.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np
import pytest

from tritherm.cli import main
from tritherm.sim import coupler_stats as stats
from tritherm.sim.golden import CouplerProgram

SEED = int(os.environ.get("TRITHERM_SEED", "1")) % (1 << 32)
SAMPLES, THIN = 15000, 3


@pytest.fixture(scope="module")
def rtl_results():
    print(f"\nseed {SEED} (replay with TRITHERM_SEED={SEED})")
    results = stats.run_stats(SAMPLES, "rtl", SEED, thin=THIN, quantisation_steps=20000)
    from tritherm.commands._output import table as _table
    print(_table(*stats.table(results)))
    return results


def test_rtl_samples_follow_the_references(rtl_results):
    for r in rtl_results:
        checks = stats.verdicts(r)
        for name, ok, detail in checks:
            print(f"seed {SEED} {r.mode}: {'PASS' if ok else 'FAIL'} {name}: {detail}")
        names = [name for name, _, _ in checks]
        assert "RTL samples equal the golden model's" in names
        assert ("equipartition var(p_i) = kT" in names) == (r.mode == "underdamped")
        assert all(ok for _, ok, _ in checks), f"seed {SEED}: {checks}"
        # The theory's standard error falls as 1/sqrt(n) and the error follows it.
        assert np.allclose(r.se_theory * np.sqrt(r.ns), r.se_theory[0] * math.sqrt(r.ns[0]))
        assert r.err_discrete[-1] < r.err_discrete[0]
    over = rtl_results[1]
    assert over.mode == "overdamped" and 0.03 < over.bias < 0.1     # Euler-Maruyama's bias
    assert rtl_results[0].bias < 1e-12                              # BAOAB: exact for x


def test_a_wrong_temperature_fails(rtl_results):
    """Control: the same statistics against references twice too hot must fail."""
    for r in rtl_results:
        checks = {name: ok for name, ok, _ in stats.verdicts(r, kT_scale=2.0)}
        assert not checks["x covariance vs discrete reference"], f"seed {SEED}, {r.mode}"
        if r.mode == "underdamped":
            assert not checks["equipartition var(p_i) = kT"], f"seed {SEED}"


def _scalar_program(mode="overdamped", a=0.75, kT=2.0, hshift=3):
    return CouplerProgram.from_physical(np.array([[a]]), None, kT, hshift, mode)


@pytest.mark.parametrize("thin", [1, 4])
def test_error_theory_matches_the_ar1_closed_form(thin):
    # One overdamped cell is AR(1): x' = f x + sd xi, variance s2 = sd^2 / (1 - f^2); the
    # sample variance of n samples every `thin` steps has n Var = 2 s2^2 (1 + r) / (1 - r),
    # r = f^(2 thin).
    program = _scalar_program()
    phys = program.physical()
    f = 1 - phys["h"] * phys["A"][0, 0]
    s2 = phys["noise_sd"] ** 2 / (1 - f * f)
    r = f ** (2 * thin)
    got = stats.covariance_error_variances(program, thin)[0, 0]
    assert got == pytest.approx(2 * s2 * s2 * (1 + r) / (1 - r), rel=1e-9)


def test_rounding_prediction_and_measurement_agree_where_rounding_matters():
    # Noise of about 3 LSB per step makes rounding visible: the uniform-noise model predicts
    # var q^2/12 added per step, i.e. relative bias q^2 / (12 sd^2) for one cell.
    program = _scalar_program(kT=2.0 ** -16, hshift=2).with_(seed=SEED)
    sd = program.physical()["noise_sd"]
    q = 2.0 ** -10
    # 400,000 steps (7 s) resolve the bias at about 10 SE; 40,000 left it at 1.5 to 5 SE
    # and missed the 2 SE floor for about one seed in 130
    bias = stats.quantisation_bias(program, steps=400_000, burn_in=100)
    print(f"seed {SEED}: {bias}")
    assert bias["predicted"] == pytest.approx(q * q / 12 / sd ** 2, rel=1e-6)
    assert bias["predicted"] > 0.01
    assert bias["measured"] > 2 * bias["measured_se"]           # resolved, not noise
    assert abs(bias["measured"] - bias["predicted"]) < 0.3 * bias["predicted"] \
        + 4 * bias["measured_se"]


def test_plot_is_a_png(rtl_results, tmp_path):
    path = tmp_path / "stats.png"
    stats.plot(rtl_results, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_command_on_the_golden_model(tmp_path, capsys):
    plot = tmp_path / "s.png"
    code = main(["bench", "coupler-stats", "--backend", "golden", "--samples", "2000",
                 "--seed", str(SEED), "--plot", str(plot)])
    out = capsys.readouterr().out
    print(out)
    assert code == 0, out
    assert "err vs discrete" in out and "underdamped" in out and "overdamped" in out
    assert "PASS equipartition" in out and f"plot written to {plot}" in out
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_bench_command_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    plot = tmp_path / "s.png"
    code = main(["bench", "coupler-stats", "--backend", "golden", "--samples", "500",
                 "--plot", str(plot)])
    out = capsys.readouterr().out
    assert "matplotlib is not installed" in out and "err vs discrete" in out
    assert code in (0, 1) and not plot.exists()


@pytest.mark.parametrize("argv, message", [
    (["--samples", "abc"], "--samples must be a whole number"),
    (["--samples", "50"], "at least 100"),
    (["--seed", "-1"], "--seed must be in"),
    (["--plot", "x.pdf"], "the --plot file must be a .png file"),
    (["--plot", "/nonexistent/dir/x.png"], "cannot write the --plot file"),
    (["--quick"], "do not apply to coupler-stats"),
])
def test_bench_command_errors(argv, message, capsys):
    code = main(["bench", "coupler-stats", "--backend", "golden"] + argv)
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_stats_options_belong_to_coupler_stats(capsys):
    assert main(["bench", "ternary", "--samples", "100"]) == 2
    assert "applies to `tritherm bench coupler-stats` only" in capsys.readouterr().err
