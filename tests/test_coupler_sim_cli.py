"""`tritherm sim coupler --vcd`: the RTL's waveform and the golden model's trace beside it.

Both VCDs are read back (`tritherm.sim.verify.coupler_vcd.read_vcd`): the golden trace's last x and
p equal the RTL's last sample, and every golden sample sits at a
time when the RTL offers that very sample.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from tritherm.cli import main
from tritherm.sim.verify.coupler_vectors import random_spd
from tritherm.sim.verify.coupler_vcd import GOLDEN_SCOPE, golden_vcd_path, read_vcd

SEED = int(os.environ.get("TRITHERM_SEED", "1")) % (1 << 32)


def _signed(value: int, width: int = 16) -> int:
    return value - (1 << width) if value >> (width - 1) else value


def check_traces(vcd, cells: int, steps: int) -> None:
    """The golden trace lines up with the RTL waveform and ends where the core ends."""
    golden = read_vcd(golden_vcd_path(vcd))
    rtl = read_vcd(vcd, lambda scope, name: scope[-1:] == ("coupler",))
    assert golden.timescale == rtl.timescale
    seq = golden.key("samples__payload.seq", GOLDEN_SCOPE)
    assert golden.final(seq) == steps
    valid = rtl.key("samples__valid", "coupler")
    for time, value in golden.changes[seq][1:]:
        # The RTL offers sample `value` at the time the golden trace shows it.
        assert rtl.value_before(valid, time + 1) == 1
        assert rtl.value_before(rtl.key("samples__payload.seq", "coupler"), time + 1) == value
    for i in range(cells):
        for field in ("x", "p"):
            want = golden.final(golden.key(f"samples__payload.{field}[{i}]", GOLDEN_SCOPE))
            got = rtl.final(rtl.key(f"samples__payload.{field}[{i}]", "coupler"))
            assert got == want, f"{field}[{i}]: RTL {_signed(got)}, golden {_signed(want)}"
            assert rtl.widths[rtl.key(f"samples__payload.{field}[{i}]", "coupler")] == 16


def test_sim_coupler_verilator_with_a_matrix(tmp_path, capsys):
    A = random_spd(np.random.default_rng(SEED), 4, 5.0, 2.0)
    np.save(tmp_path / "A.npy", A)
    vcd = tmp_path / "wave.vcd"
    print(f"seed {SEED}")
    code = main(["sim", "coupler", "--matrix", str(tmp_path / "A.npy"), "--steps", "40",
                 "--vcd", str(vcd), "--seed", str(SEED)])
    out = capsys.readouterr().out
    print(out)
    assert code == 0 and "PASS" in out and str(tmp_path / "wave.golden.vcd") in out
    assert out.count("step 40:") == 2
    check_traces(vcd, 4, 40)


def test_sim_coupler_icarus_overdamped(tmp_path, capsys):
    """Icarus is 4-state: a combinational block it never evaluated would leave X in the core
    (seen when the state starts at x0 = 0 with `always @*`; `rtl.verilog_of` now writes
    continuous assignments, which Icarus evaluates at time zero)."""
    vcd = tmp_path / "ic.vcd"
    code = main(["sim", "coupler", "--cells", "2", "--multipliers", "1", "--steps", "12",
                 "--mode", "overdamped", "--vcd", str(vcd), "--simulator", "icarus",
                 "--seed", str(SEED)])
    out = capsys.readouterr().out
    print(out)
    assert code == 0 and "PASS" in out, f"seed {SEED}"
    check_traces(vcd, 2, 12)


@pytest.mark.parametrize("argv, message", [
    (["--cells", "1"], "cells must be an integer in [2, 256]"),
    (["--cells", "8", "--multipliers", "3"], "multipliers must be a power of two"),
    (["--cells", "x"], "--cells must be a whole number"),
    ([], "give the number of cells"),
    (["--matrix", "/nonexistent/A.npy"], "does not exist"),
    (["--cells", "3", "--matrix", "MATRIX"], "does not match the 2 x 2 matrix"),
    (["--cells", "2", "--vcd", "/nonexistent/dir/w.vcd"], "cannot write the VCD file"),
    (["--cells", "2", "--vcd", "w.txt"], "--vcd must name a .vcd file"),
    (["--cells", "2", "--steps", "0"], "--steps must be at least 1"),
    (["--cells", "2", "--steps", "1000000"], "--steps must be at most"),
])
def test_sim_coupler_errors(argv, message, tmp_path, capsys):
    np.save(tmp_path / "A.npy", np.eye(2))
    argv = [str(tmp_path / "A.npy") if a == "MATRIX" else a for a in argv]
    if "--vcd" not in argv:
        argv += ["--vcd", str(tmp_path / "w.vcd")]
    if "--steps" not in argv:
        argv += ["--steps", "5"]
    code = main(["sim", "coupler"] + argv)
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
