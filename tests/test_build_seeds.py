"""A build that misses timing is placed and routed again with nextpnr's next seeds.

nextpnr is replaced by a small script that reports a Fmax depending on its ``--seed``, so
the loop is checked without minutes of placement (the real builds are in test_boards.py).
"""

import os
import stat

import pytest

from tritherm.boards import build
from tritherm.boards.catalog import get_board
from tritherm.boards.synth import BuildError

UTILISATION = """Info: Device utilisation:
Info: \t         ICESTORM_LC:    5098/   5280    96%
Info: \t        ICESTORM_RAM:      21/     30    70%
Info: \t        ICESTORM_DSP:       7/      8    87%
"""

#: A stand-in for nextpnr: seed N reaches 21 + N MHz against a 24 MHz constraint, so seeds
#: 1 and 2 miss and 3 meets it; it records every seed it was given.
FAKE_NEXTPNR = """#!/bin/sh
seed=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) seed=$2; shift;;
    --log) log=$2; shift;;
  esac
  shift
done
echo "$seed" >> seeds
fmax=$((21 + seed))
if [ "$fmax" -ge 24 ]; then verdict=PASS; else verdict=FAIL; fi
cat utilisation > "$log"
echo "Info: Max frequency for clock 'clk': $fmax.00 MHz ($verdict at 24.00 MHz)" >> "$log"
"""


@pytest.fixture
def build_dir(tmp_path, monkeypatch):
    fake = tmp_path / "fake-nextpnr"
    fake.write_text(FAKE_NEXTPNR)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("NEXTPNR_ICE40", str(fake))
    monkeypatch.setenv("ICEPACK", "true")
    (tmp_path / "utilisation").write_text(UTILISATION)
    (tmp_path / "build_soc.sh").write_text(
        '#!/bin/sh\n"$YOSYS" -q -l soc.rpt soc.ys\n'
        '"$NEXTPNR_ICE40" --quiet --timing-allow-fail --log soc.tim --up5k --json soc.json\n'
        '"$ICEPACK" soc.asc soc.bin\n')
    return tmp_path


def first_run(build_dir, seed):
    """What the platform build leaves: nextpnr's log of its run with `seed`."""
    os.system(f'cd {build_dir} && "$NEXTPNR_ICE40" --seed {seed} --log soc.tim')


def test_seeds_are_tried_until_timing_is_met(build_dir):
    first_run(build_dir, 1)
    lines = []
    report = build._meet_timing_with_seeds(get_board("icebreaker"), build_dir, "soc",
                                           lines.append)
    assert report.timing_met and report.fmax_mhz == 24.0
    assert (build_dir / "seeds").read_text().split() == ["1", "2", "3"]
    assert lines[0] == ("timing missed with nextpnr's seed 1 (Fmax 22.00 MHz); placing and "
                        "routing again with seed 2...")
    assert len(lines) == 2


def test_a_build_that_meets_timing_is_not_placed_again(build_dir):
    first_run(build_dir, 3)
    report = build._meet_timing_with_seeds(get_board("icebreaker"), build_dir, "soc",
                                           print)
    assert report.timing_met
    assert (build_dir / "seeds").read_text().split() == ["3"]


def test_every_seed_missing_returns_the_last_report(build_dir, monkeypatch):
    monkeypatch.setattr(build, "NEXTPNR_SEEDS", (1, 2))
    first_run(build_dir, 1)
    report = build._meet_timing_with_seeds(get_board("icebreaker"), build_dir, "soc",
                                           print)
    assert not report.timing_met and report.fmax_mhz == 23.0
    assert (build_dir / "seeds").read_text().split() == ["1", "2"]


def test_a_script_without_nextpnr_is_one_sentence(build_dir):
    first_run(build_dir, 1)
    (build_dir / "build_soc.sh").write_text('"$YOSYS" soc.ys\n')
    with pytest.raises(BuildError, match="cannot find nextpnr's command"):
        build._meet_timing_with_seeds(get_board("icebreaker"), build_dir, "soc", print)
