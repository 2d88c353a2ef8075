"""`tritherm flash` with no board attached: the real openFPGALoader runs, finds no cable and
the command says so in one sentence with a non-zero exit; a missing bitstream, a missing
programmer and an impossible mode are one sentence too.

CI has no FPGA board on its USB bus; on a machine with one of these boards plugged in,
the no-board cases are skipped rather than programming it.
"""

import re

import pytest

from tritherm import toolchain
from tritherm.boards.build import NoBoardFound, program_board
from tritherm.boards.catalog import get_board
from tritherm.cli import main


def fake_bitstream(tmp_path, board):
    """A file with the board's bitstream suffix (the programmer never gets to read it)."""
    path = tmp_path / f"soc{get_board(board).bitstream_suffix}"
    path.write_bytes(b"\xff\x00not a bitstream")
    return path


def run_cli(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("board,mode,cable", [
    ("icebreaker", [], r"the iCEBreaker's FT2232H \(ftdi 0403:6010\)"),
    ("icebreaker", ["--flash"], r"the iCEBreaker's FT2232H \(ftdi 0403:6010\)"),
    ("ulx3s-85f", ["--sram"], r"the ULX3S's FT231X \(ftdi 0403:6015\)"),
    ("ulx3s-12f", ["--flash"], r"the ULX3S's FT231X \(ftdi 0403:6015\)"),
    ("orangecrab", [], r"the OrangeCrab's DFU bootloader \(usb 1209:5af0\)"),
])
def test_no_board_attached_is_one_sentence(board, mode, cable, tmp_path, capsys):
    toolchain.require("openFPGALoader")        # the real programmer, not a stand-in
    bitstream = fake_bitstream(tmp_path, board)
    status, out, err = run_cli(["flash", "--board", board, "--bitstream", str(bitstream),
                                *mode], capsys)
    if status == 0:
        pytest.skip(f"a {board} is attached: it was programmed")
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.fullmatch(rf"tritherm: error: no board found: openFPGALoader looked for {cable} "
                        r"and found none\.", lines[0]), lines[0]
    assert "Traceback" not in out + err


def test_no_board_raises_no_board_found(tmp_path):
    with pytest.raises(NoBoardFound, match="^no board found: openFPGALoader looked for"):
        program_board("ulx3s-85f", fake_bitstream(tmp_path, "ulx3s-85f"), flash=True)


def test_missing_bitstream(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)                     # no build/ here
    status, _, err = run_cli(["flash", "--board", "icebreaker"], capsys)
    assert status == 2
    assert err == ("tritherm: error: no bitstream at build/icebreaker-soc/soc.bin; build it "
                   "with `tritherm build --board icebreaker` or pass --bitstream FILE.\n")
    status, _, err = run_cli(["flash", "--board", "ulx3s-85f", "--bitstream", "nope.bit"],
                             capsys)
    assert (status, err) == (2, "tritherm: error: bitstream nope.bit does not exist.\n")


def test_wrong_bitstream_kind_and_impossible_mode(tmp_path, capsys):
    bit = fake_bitstream(tmp_path, "ulx3s-85f")
    status, _, err = run_cli(["flash", "--board", "icebreaker", "--bitstream", str(bit)], capsys)
    assert status == 2 and err.startswith("tritherm: error: the icebreaker loads .bin "
                                          "bitstreams, got ")
    status, _, err = run_cli(["flash", "--board", "orangecrab", "--sram", "--bitstream",
                              str(bit)], capsys)
    assert (status, err) == (2, "tritherm: error: openFPGALoader cannot load the orangecrab's "
                                "bitstream into its SRAM; use --flash.\n")
    with pytest.raises(SystemExit):                 # argparse: not both
        main(["flash", "--board", "icebreaker", "--sram", "--flash"])


def test_missing_programmer_is_one_sentence(tmp_path, capsys, monkeypatch):
    # The iCESugar's icesprog is not a wheel: with nothing on PATH it is missing.
    monkeypatch.setenv("PATH", str(tmp_path))
    status, _, err = run_cli(["flash", "--board", "icesugar", "--bitstream",
                              str(fake_bitstream(tmp_path, "icesugar"))], capsys)
    assert status == 2
    assert err.startswith("tritherm: error: icesprog is not installed; ")
    assert "copy the .bin onto the icesugar's USB drive." in err
    assert len(err.strip().splitlines()) == 1
