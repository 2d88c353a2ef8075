"""`tritherm run`, and the board backends of `tritherm linalg` and `tritherm sim ternary`,
end to end: on the simulated SoC (--port sim), and through the serial transport on a
pseudo-terminal bridged to the simulation (the path a real board takes, minus the cable).
"""

import os
import select
import threading

import numpy as np
import pytest

from tritherm.cli import main
from tritherm.firmware.config import SIM_SOC_CONFIG
from tritherm.firmware.transport import SimTransport

SESSION_SEED = int(os.environ.get("TRITHERM_SEED", "1"))


def _one_sentence_error(capsys, argv, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_run_identify_on_the_simulated_soc(capsys):
    assert main(["run", "--port", "sim", "identify"]) == 0
    out = capsys.readouterr().out
    shape = SIM_SOC_CONFIG.array
    assert "the simulated SoC: tritherm SoC" in out
    assert (f"{shape.lanes} lanes x {shape.inputs} inputs per cycle, K up to "
            f"{shape.capacity}") in out
    assert f"{SIM_SOC_CONFIG.cells} cells, {SIM_SOC_CONFIG.multipliers} multipliers" in out


def test_run_flags_noise_matvec_sample(tmp_path, capsys):
    assert main(["run", "--port", "sim", "flags", "--clear"]) == 0
    out = capsys.readouterr().out
    assert "flags" in out and "garbage count" in out and "cleared" in out

    assert main(["run", "--port", "sim", "noise", "--beats", "3", "--seed", "7"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and len(lines[0].split()) == SIM_SOC_CONFIG.cells
    assert lines[-1].startswith(f"{3 * SIM_SOC_CONFIG.cells} samples")

    rng = np.random.default_rng(SESSION_SEED)
    print(f"seed {SESSION_SEED}")
    w, x = rng.integers(-1, 2, (6, 75)), rng.integers(-128, 128, (2, 75))
    np.save(tmp_path / "w.npy", w)
    np.save(tmp_path / "x.npy", x)
    assert main(["run", "--port", "sim", "matvec", "--weights", str(tmp_path / "w.npy"),
                 "--activations", str(tmp_path / "x.npy"), "--out",
                 str(tmp_path / "y.npy")]) == 0
    assert "PASS: all 12 outputs equal the golden model" in capsys.readouterr().out
    assert np.array_equal(np.load(tmp_path / "y.npy"), x @ w.T)

    np.save(tmp_path / "A.npy", np.array([[2.0, 0.6], [0.6, 1.0]]))
    assert main(["run", "--port", "sim", "sample", "--matrix", str(tmp_path / "A.npy"),
                 "--samples", "300", "--out", str(tmp_path / "draws.npy")]) == 0
    out = capsys.readouterr().out
    assert "PASS: all 300 samples (seq, flags, x, p) equal the golden model" in out
    assert np.load(tmp_path / "draws.npy").shape == (300, 2)


def test_linalg_and_sim_ternary_board_backends(tmp_path, capsys):
    A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.5]])
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "b.npy", np.array([1.0, -1.0, 0.5]))
    assert main(["linalg", "solve", "--matrix", str(tmp_path / "A.npy"), "--rhs",
                 str(tmp_path / "b.npy"), "--backend", "board", "--port", "sim",
                 "--samples", "2000", "--out", str(tmp_path / "x.npy")]) == 0
    assert "backend board" in capsys.readouterr().out
    golden = tmp_path / "xg.npy"
    # The board backend's default on this SoC is the moments on chip: the golden backend
    # computes the same block moments with --statistics moments.
    assert main(["linalg", "solve", "--matrix", str(tmp_path / "A.npy"), "--rhs",
                 str(tmp_path / "b.npy"), "--samples", "2000", "--out", str(golden),
                 "--statistics", "moments"]) == 0
    assert np.array_equal(np.load(tmp_path / "x.npy"), np.load(golden))   # bit for bit
    # linalg sample on this SoC takes the compact stream: the same draws as golden's.
    assert main(["linalg", "sample", "--matrix", str(tmp_path / "A.npy"), "--backend",
                 "board", "--port", "sim", "--samples", "300", "--out",
                 str(tmp_path / "d.npy")]) == 0
    assert "x only, over the compact stream" in capsys.readouterr().out
    assert main(["linalg", "sample", "--matrix", str(tmp_path / "A.npy"), "--samples", "300",
                 "--out", str(golden)]) == 0
    assert np.array_equal(np.load(tmp_path / "d.npy"), np.load(golden))   # bit for bit

    w = np.array([[1, 0, -1, 1, 1, 0, -1], [0, 0, 1, -1, 1, 1, 1]])
    np.save(tmp_path / "w.npy", w)
    np.save(tmp_path / "a.npy", np.arange(-3, 4))
    assert main(["sim", "ternary", "--backend", "board", "--port", "sim", "--weights",
                 str(tmp_path / "w.npy"), "--activations", str(tmp_path / "a.npy"), "--out",
                 str(tmp_path / "y.npy")]) == 0
    assert "PASS" in capsys.readouterr().out
    assert np.array_equal(np.load(tmp_path / "y.npy"), w @ np.arange(-3, 4))


@pytest.mark.parametrize("argv, fragment", [
    (["run", "--port", "/dev/ttyUSB-tritherm-none", "identify"],
     "no serial port /dev/ttyUSB-tritherm-none"),
    (["run", "--port", "/dev/null", "identify"], "/dev/null is not a serial port"),
    (["run", "--port", "sim", "--board", "nosuch", "identify"], "unknown board 'nosuch'"),
    (["linalg", "inv", "--matrix", "{d}/A.npy", "--backend", "board"], "needs --port"),
    (["linalg", "inv", "--matrix", "{d}/A.npy", "--port", "sim"], "go with --backend board"),
    (["sim", "ternary", "--weights", "{d}/A.npy", "--activations", "{d}/A.npy", "--out",
      "{d}/y.npy", "--port", "sim"], "go with --backend board"),
    (["run", "--port", "sim", "noise", "--beats", "zero"], "--beats must be a whole number"),
])
def test_errors_are_one_sentence(tmp_path, capsys, argv, fragment):
    np.save(tmp_path / "A.npy", np.eye(2, dtype=np.int64))
    _one_sentence_error(capsys, [a.format(d=tmp_path) for a in argv], fragment)


@pytest.fixture
def pty_port():
    """A pseudo-terminal whose far end is the simulated SoC (while `bridge` is set) or
    nothing at all; yields (port name, bridge event)."""
    master, slave = os.openpty()
    name = os.ttyname(slave)
    bridge, done = threading.Event(), threading.Event()
    sim = SimTransport(SIM_SOC_CONFIG)

    def pump():
        while not done.is_set():
            ready, _, _ = select.select([master], [], [], 0.002)
            if ready:
                data = os.read(master, 4096)
                if bridge.is_set():
                    sim.write(data)
            data = sim.read(0.0)
            if data:
                os.write(master, data)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        yield name, bridge
    finally:
        done.set()
        thread.join()
        sim.close()
        os.close(slave)
        os.close(master)


def test_serial_transport_through_a_pty(pty_port, capsys):
    name, bridge = pty_port
    bridge.set()
    assert main(["run", "--port", name, "identify"]) == 0
    assert f"{name}: tritherm SoC" in capsys.readouterr().out
    # The simulated SoC is not the ULX3S-85F's: the sizes say so, in one sentence.
    _one_sentence_error(capsys, ["run", "--board", "ulx3s-85f", "--port", name, "identify"],
                        f"{name} is not the ulx3s-85f SoC: it has ")


def test_no_answer_on_a_serial_port(pty_port, capsys):
    name, _ = pty_port                      # nothing answers on the far end
    err = _one_sentence_error(capsys, ["run", "--port", name, "identify"],
                              f"{name} did not answer IDENTIFY (tried twice; no answer "
                              f"within 1 s)")
    assert f"tritherm SoC at {SIM_SOC_CONFIG.baud} baud" in err
