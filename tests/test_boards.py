"""The board catalog and the nextpnr log parser (on excerpts of real nextpnr logs)."""

from pathlib import Path

import pytest

from tritherm.boards.catalog import BOARDS, boards_table, get_board
from tritherm.boards.report import format_report, parse_nextpnr_log, read_report

DATA = Path(__file__).parent / "data"


def test_every_board_has_a_platform_with_its_leds():
    for board in BOARDS.values():
        platform = board.make_platform()
        assert (platform.device, platform.package) == (board.device, board.package)
        assert platform.default_clk_frequency == board.clock_hz
        for led in (board.pass_led, board.fail_led, board.heartbeat_led):
            resource = platform.lookup(led.resource, led.number)
            if led.field:
                assert led.field in {sub.name for sub in resource.ios}


def test_unknown_board_is_one_clear_sentence():
    with pytest.raises(ValueError, match=r"unknown board 'nope'; supported boards: icebreaker"):
        get_board("nope")


def test_boards_table_lists_every_board():
    table = boards_table()
    for name in BOARDS:
        assert name in table
    assert "openFPGALoader -b ulx3s" in table


def test_parse_ice40_log():
    report = read_report(DATA / "nextpnr-ice40-selftest.tim", "ice40")
    assert (report.logic.used, report.logic.available) == (1570, 5280)
    assert (report.ram.used, report.dsp.used) == (6, 0)
    assert report.cells["SB_IO"].used == 4
    assert report.fmax_mhz == 23.08             # the last (post-route) line wins
    assert report.target_mhz == 12.0 and report.timing_met
    assert "PASS" in format_report(report)


def test_parse_ecp5_log():
    report = read_report(DATA / "nextpnr-ecp5-blinky.tim", "ecp5")
    assert (report.logic.used, report.logic.available) == (54, 83640)
    assert report.ram.available == 208 and report.dsp.available == 156
    assert list(report.clocks) == ["cd_sync.clk"]
    assert report.fmax_mhz == 224.42 and report.timing_met


def test_failed_timing_and_unfinished_log():
    text = (DATA / "nextpnr-ice40-selftest.tim").read_text().replace(
        "23.08 MHz (PASS at 12.00 MHz)", "9.50 MHz (FAIL at 12.00 MHz)")
    report = parse_nextpnr_log(text, "ice40")
    assert not report.timing_met and report.fmax_mhz == 9.5
    assert "FAIL" in format_report(report)
    assert not parse_nextpnr_log("Info: Max frequency for clock", "ice40").timing_met
