"""`--json` on every command a script reads: one JSON document on stdout, with the keys that
docs/cli.md documents, and the values the human-readable output gives."""

import json
import os

import numpy as np
import pytest

from tritherm.cli import main

SEED = int(os.environ.get("TRITHERM_SEED", "1"))


def run_json(argv, capsys, status=0):
    capsys.readouterr()              # what the test printed before (its seed) is not output
    code = main(argv)
    out = capsys.readouterr().out
    assert code == status, out
    return json.loads(out)           # stdout holds the JSON document and nothing else


def test_doctor_lists_every_tool_with_the_commands_that_need_it(capsys):
    document = run_json(["doctor", "--json"], capsys)
    tools = {t["tool"]: t for t in document["tools"]}
    assert document["missing"] == []
    for name in ("yosys", "nextpnr-ice40", "nextpnr-ecp5", "verilator", "iverilog",
                 "openFPGALoader", "dieharder"):
        assert tools[name]["path"] and tools[name]["used_by"], name
    assert "noise-test (without --gaussian)" in tools["dieharder"]["used_by"]
    assert set(tools["yosys"]) == {"tool", "version", "origin", "path", "required", "used_by",
                                   "install"}


def test_boards_gives_each_board_and_its_soc(capsys):
    from tritherm.boards.catalog import BOARDS
    boards = run_json(["boards", "--json"], capsys)["boards"]
    assert [b["board"] for b in boards] == list(BOARDS)
    icebreaker = next(b for b in boards if b["board"] == "icebreaker")
    soc = BOARDS["icebreaker"].soc
    assert icebreaker["soc"]["cells"] == soc.cells and icebreaker["soc"]["lanes"] == soc.array.lanes
    assert icebreaker["design_clock_mhz"] == BOARDS["icebreaker"].design_hz / 1e6


def test_linalg_gives_the_estimate_and_its_errors(tmp_path, capsys):
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    A = np.array([[4.0, 1.0], [1.0, 3.0]])
    np.save(tmp_path / "A.npy", A)
    out = tmp_path / "inv.npy"
    document = run_json(["linalg", "inv", "--matrix", str(tmp_path / "A.npy"), "--samples",
                         "3000", "--seed", str(SEED % 1000 + 1), "--out", str(out), "--json"],
                        capsys)
    assert set(document) == {"op", "estimate_file", "estimate", "relative_error",
                             "relative_standard_error", "samples", "steps", "statistics",
                             "backend", "seconds"}
    assert document["statistics"] == "samples"       # the golden backend's default
    estimate = np.array(document["estimate"])
    np.testing.assert_array_equal(estimate, np.load(out))
    exact = np.linalg.inv(A)
    assert document["relative_error"] == pytest.approx(
        np.linalg.norm(estimate - exact) / np.linalg.norm(exact))
    assert document["samples"] == 3000 and document["backend"] == "golden"


def test_noise_test_gaussian_gives_every_source(capsys):
    document = run_json(["noise-test", "--gaussian", "--samples", "2000", "--json"], capsys)
    assert document["test"] == "gaussian" and document["passed"] is True
    sources = {s["source"]: s for s in document["sources"]}
    assert set(sources) == {"clt", "icdf", "lfsr-clt"}
    assert sources["lfsr-clt"]["independent"] is False       # the LFSR's correlations show
    assert sources["icdf"]["moments"]["n"] == 2000


def test_bench_coupler_stats_gives_its_rows_and_verdicts(tmp_path, capsys):
    document = run_json(["bench", "coupler-stats", "--backend", "golden", "--samples", "500",
                         "--plot", str(tmp_path / "s.png"), "--json"], capsys,
                        status=None or 0)
    assert document["core"] == "coupler-stats" and document["rows"]
    assert {v["mode"] for v in document["verdicts"]} == {"underdamped", "overdamped"}


@pytest.mark.xdist_group("soc-sim")
def test_run_identify_and_flags_over_the_simulated_soc(capsys):
    from tritherm.firmware.config import SIM_SOC_CONFIG
    identity = run_json(["run", "--port", "sim", "identify", "--json"], capsys)
    assert identity["coupler"]["cells"] == SIM_SOC_CONFIG.cells
    assert identity["array"]["lanes"] == SIM_SOC_CONFIG.array.lanes
    assert identity["clock_hz"] == SIM_SOC_CONFIG.clock_hz
    flags = run_json(["run", "--port", "sim", "flags", "--json"], capsys)
    assert flags["flags"] == [] and flags["running"] is False
    assert set(flags["counters"]) >= {"bad_crc", "garbage"}


@pytest.mark.xdist_group("fpga")
def test_build_gives_the_resource_and_timing_table(tmp_path, capsys):
    document = run_json(["build", "--board", "icebreaker", "--design", "echo", "--build-dir",
                         str(tmp_path), "--json"], capsys)
    assert document["board"] == "icebreaker" and document["target"] == "echo"
    from tritherm.boards.catalog import BOARDS
    assert document["timing_met"] is True
    assert document["target_mhz"] == BOARDS["icebreaker"].design_hz / 1e6
    assert 0 < document["logic"]["used"] < document["logic"]["available"] == 5280


GENERATE_FIGURES = {"digit", "count", "recognised", "recognised_ternary", "mirrored", "nn",
                    "nn_min",
                    "test_nn", "diversity", "data_diversity", "heat", "seconds_per_image"}


def test_apps_generate_sample_gives_the_figures_of_every_digit(tmp_path, capsys):
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    document = run_json(["apps", "generate", "sample", "--backend", "float", "--digit", "3",
                         "--count", "3", "--seed", str(SEED % 1000 + 1), "--out",
                         str(tmp_path / "g.png"), "--save", str(tmp_path / "s.npz"), "--json"],
                        capsys)
    assert set(document) == {"backend", "seed", "count", "digits_asked", "model", "cells",
                             "digits", "overall", "classifier_accuracy", "grid", "save",
                             "agreement", "words", "mismatched"}
    assert document["digits_asked"] == [3] and document["model"] == "shipped"
    assert [set(row) for row in document["digits"]] == [GENERATE_FIGURES]
    assert set(document["overall"]) == GENERATE_FIGURES and document["overall"]["digit"] is None
    assert document["overall"]["count"] == 3 and document["agreement"] is None
    with np.load(tmp_path / "s.npz") as data:
        assert data["images"].shape == (3, 64) and data["digits"].tolist() == [3, 3, 3]


def test_bench_generate_gives_its_three_tables(capsys):
    document = run_json(["bench", "generate", "--backends", "float", "--hidden", "8",
                         "--count", "2", "--json"], capsys)
    assert document["core"] == "generate" and document["count"] == 2
    quality = {row["generator"]: row for row in document["quality"]}
    assert len(quality) == 5 and all(
        set(row) == {"generator", "images", "recognised", "recognised_ternary", "mirrored",
                     "nn", "nn_min", "test_nn", "diversity", "data_diversity", "heat",
                     "seconds_per_image", "note"} for row in quality.values())
    assert quality["test split (data)"]["images"] == 360
    from tritherm.boards.catalog import GENERATOR_SOCS
    assert [row["backend"] for row in document["timing"]][0] == "float"
    assert len(document["timing"]) == 1 + len(GENERATOR_SOCS)   # float, each SoC's clock
    assert [row["hidden"] for row in document["hidden"]] == [8]
    assert document["hidden"][0]["cells"] == 72
