"""`tritherm bench ternary`: the 2B4T layer on paper (figures checked against numbers
worked out here by hand) and the full table's measured rows (no place-and-route)."""

import pytest

from tritherm.bench import ternary


def _row(family, variant, lanes, inputs, fmax_mhz):
    row = ternary.BenchRow(family, variant, lanes, inputs)
    row.fmax_mhz, row.fits = fmax_mhz, fmax_mhz is not None
    return row


def test_layer_macs_of_bitnet_2b4t():
    # q and o: 2560 x 2560; k and v: 2560 x (5 heads x 128); gate, up: 2560 x 6912; down.
    matrices = [(2560, 2560), (2560, 640), (2560, 640), (2560, 2560),
                (2560, 6912), (2560, 6912), (6912, 2560)]
    assert ternary.layer_macs() == sum(a * b for a, b in matrices) == 69_468_160
    assert 30 * ternary.layer_macs() == 2_084_044_800


def test_layer_figures_on_each_feed():
    up5k, ecp5 = ternary.layer_rows([_row("ice40", "dense-2bit", 16, 16, 40.0),
                                     _row("ecp5", "dense", 64, 32, 100.0)])
    f = up5k.figures()
    assert f["gmacs"] == pytest.approx(10.24)                      # 256 x 40e6
    assert f["ms_per_layer"] == pytest.approx(69_468_160 / 10.24e9 * 1e3)
    assert f["s_per_token"] == pytest.approx(2_084_044_800 / 10.24e9)
    assert f["weight_gbytes_per_s"] == pytest.approx({"base-3": 2.048, "I2_S": 2.56})
    # SPRAM: 8 bytes a cycle at 40 MHz = 320 MB/s = 1.6e9 weights/s at 1.6 bits.
    assert f["feed_mbytes_per_s"] == pytest.approx(320)
    assert f["fed_s_per_token"]["base-3"] == pytest.approx(2_084_044_800 / 1.6e9)
    assert f["feed_layers_held"] == pytest.approx(131_072 / (69_468_160 * 0.2))
    g = ecp5.figures()
    # SDRAM: 200 MB/s = 1e9 weights/s (1.6 bits) or 0.8e9 (2 bits), below 204.8 GMAC/s.
    assert g["fed_s_per_token"] == pytest.approx({"base-3": 2.084044800,
                                                  "I2_S": 2.084044800 * 1.25})
    assert g["feed_layers_held"] == pytest.approx(32 * 2 ** 20 / (69_468_160 * 0.2))


def test_layer_rows_take_the_fastest_placed_row_of_each_kind():
    rows = [_row("ice40", "tree", 8, 10, 38.8), _row("ice40", "dense", 14, 15, 41.0),
            _row("ice40", "dense-2bit", 14, 16, 40.0), _row("ice40", "dense-2bit", 16, 16, None)]
    picked = [(r.bench.variant, r.bench.lanes) for r in ternary.layer_rows(rows)]
    assert picked == [("tree", 8), ("dense-2bit", 14)]


def test_full_table_takes_measured_rows_and_places_the_rest(monkeypatch):
    record = {"family": "ice40", "variant": "tree", "lanes": 8, "inputs": 10, "logic": 4980,
              "ram": 8, "dsp": 0, "fmax_mhz": 38.8, "ff": 1, "logic_fraction": 0.94,
              "note": "94% logic"}
    monkeypatch.setattr(ternary, "MEASURED_ROWS", [record])
    monkeypatch.setattr(ternary, "DEFAULT_ROWS", {"ice40": [("tree", 8, 10), ("dense", 4, 5)]})
    placed = []

    def place(row, build, workdir, dsp=True, cache=True, out=print):
        placed.append((row.variant, row.lanes, row.inputs))
        row.logic, row.fmax_mhz = 100, 50.0
        return row

    monkeypatch.setattr(ternary, "place_cached", place)
    monkeypatch.setattr(ternary.toolchain, "setup", lambda: None)
    lines = []
    rows = ternary.bench_ternary(families=("ice40",), out=lines.append)
    assert placed == [("dense", 4, 5)]
    assert (rows[0].logic, rows[0].fmax_mhz, rows[0].fits) == (4980, 38.8, True)
    assert any(ternary.one_size_command("ice40", "tree", 8, 10) in line for line in lines)
    assert ternary.measured_row("ice40", "tree", 8, 11) is None


def test_every_measured_row_is_a_row_of_the_full_table():
    planned = {(family, *spec) for family, specs in ternary.DEFAULT_ROWS.items()
               for spec in specs}
    for record in ternary.MEASURED_ROWS:
        assert (record["family"], record["variant"], record["lanes"],
                record["inputs"]) in planned


def test_placement_key_ignores_source_locations_only():
    from tritherm.bench.placement import placement_key
    design = 'attribute \\src "{}:{}"\nmodule \\top\n  attribute \\src "{}:7"\n  wire \\a\nend\n'
    key = placement_key(design.format("a.py", 1, "b.py"), "ice40")
    assert placement_key(design.format("c.py", 9, "d.py"), "ice40") == key
    assert placement_key(design.format("a.py", 1, "b.py").replace("\\a", "\\b"), "ice40") != key
    assert placement_key(design.format("a.py", 1, "b.py"), "ice40", dsp=False) != key


def test_layer_command_reads_the_measured_rows(monkeypatch, capsys):
    import json

    from tritherm.cli import main
    record = {"family": "ecp5", "variant": "dense", "lanes": 64, "inputs": 32, "logic": 1,
              "ram": 1, "dsp": 0, "fmax_mhz": 100.0, "ff": 1, "logic_fraction": 0.5, "note": ""}
    monkeypatch.setattr(ternary, "MEASURED_ROWS", [record])
    monkeypatch.setattr(ternary, "DEFAULT_ROWS", {"ice40": [], "ecp5": [("dense", 64, 32)]})
    assert main(["bench", "ternary", "--layer", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert (row["variant"], row["mac_per_cycle"], row["s_per_token"]) == \
        ("dense", 2048, pytest.approx(2_084_044_800 / 204.8e9))
    assert main(["bench", "noise", "--layer"]) == 2
    assert main(["bench", "ternary", "--layer", "--lanes", "4", "--inputs", "5"]) == 2
