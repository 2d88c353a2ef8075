"""`tritherm bench ternary`: the one-size point, its JSON rows and its refusals (the parts
that need no place-and-route: placement is replaced by a stub)."""

import json

import pytest

from tritherm import bench
from tritherm.bench import ternary
from tritherm.cli import main


@pytest.fixture
def placed(monkeypatch):
    """Each design is "placed" by a stub that records it and fills in made-up figures;
    the second size is made not to fit."""
    calls = []

    def place(row, build, workdir, dsp=True, cache=True, out=print):
        core = build()
        core._MustUse__silence = True
        calls.append((row.family, row.variant, row.lanes, row.inputs, type(core).__name__,
                      getattr(core, "ram_output_register", None)))
        if row.lanes * row.inputs > 100:
            row.logic, row.note = 9999, "does not fit (9999 logic > 5280; yosys counts)"
        else:
            row.logic, row.ram, row.dsp, row.fmax_mhz = 100, 2, 0, 50.0
        return row

    monkeypatch.setattr(ternary, "place_cached", place)
    monkeypatch.setattr(ternary.toolchain, "setup", lambda: None)
    return calls


def test_one_size_json_rows(placed, capsys):
    assert main(["bench", "ternary", "--family", "ice40", "--family", "ecp5", "--lanes", "4",
                 "--inputs", "5", "--variant", "dense", "--variant", "tree", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    rows = document["rows"]
    assert [(r["family"], r["variant"]) for r in rows] == [
        ("ice40", "dense"), ("ice40", "tree"), ("ecp5", "dense"), ("ecp5", "tree")]
    for row in rows:
        assert {"family", "variant", "lanes", "inputs", "mac_per_cycle", "logic", "ram",
                "dsp", "fmax_mhz", "fits"} <= set(row)
        assert (row["lanes"], row["inputs"], row["mac_per_cycle"], row["fits"]) == (4, 5, 20, True)
    # The dense array registers its codes after the block RAM on the ECP5 only.
    assert [c[5] for c in placed] == [False, None, True, None]


def test_one_size_defaults_to_the_dense_array_and_reports_a_misfit(placed, capsys):
    assert main(["bench", "ternary", "--family", "ice40", "--lanes", "16", "--inputs", "16",
                 "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert (row["variant"], row["fits"], row["logic"], row["fmax_mhz"]) == \
        ("dense", False, 9999, None)
    assert placed[0][4] == "DenseTernaryArray"


def test_lane_studies_and_int8_designs(placed, capsys):
    rows = bench.bench_point(1, 16, families=("ice40",),
                             variants=("lane-bit-serial", "lane-lookup", "int8-logic"),
                             out=lambda *_: None)
    assert [r.mac_per_cycle for r in rows] == [2, 16, 16]
    assert [c[4] for c in placed] == ["BitSerialLane", "LookupLane", "Int8MacArray"]
    with pytest.raises(ValueError, match="one lane"):
        bench.bench_point(2, 16, families=("ice40",), variants=("lane-adder-tree",))


def test_default_table_covers_every_variant(placed):
    rows = bench.bench_ternary(families=("ice40",), out=lambda *_: None)
    assert {r.variant for r in rows} == set(ternary.VARIANTS)


@pytest.mark.parametrize("argv, message", [
    (["bench", "ternary", "--lanes", "4"], "--lanes and --inputs go together"),
    (["bench", "ternary", "--lanes", "4", "--inputs", "0"], "--inputs must be at least 1"),
    (["bench", "ternary", "--lanes", "1025", "--inputs", "5"], "--lanes must be at most 1024"),
    (["bench", "ternary", "--lanes", "4", "--inputs", "5", "--quick"], "--quick does not apply"),
    (["bench", "noise", "--variant", "dense"], "--variant applies to `tritherm bench ternary`"),
    (["bench", "coupler", "--lanes", "4", "--inputs", "5"], "--lanes, --inputs apply"),
])
def test_refusals(argv, message, placed, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert placed == []


def test_command_offers_every_variant():
    import argparse

    from tritherm.commands import bench as command
    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    action = next(a for a in parser._subparsers._group_actions[0].choices["bench"]._actions
                  if a.dest == "variant")
    assert tuple(action.choices) == ternary.VARIANTS
