"""A plain (non-editable) install carries every subpackage and data file."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_holds_the_layout(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True)
    wheel = next(tmp_path.glob("tritherm-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("tritherm/cli.py", "tritherm/toolchain.py", "tritherm/formats.py",
                     "tritherm/hdl/ternary/array.py", "tritherm/sim/golden/bitlinear.py",
                     "tritherm/sim/verify/verilator_lint.vlt", "tritherm/sim/verify/ternary_cocotb.py",
                     "tritherm/bench/ternary.py", "tritherm/commands/__init__.py",
                     "tritherm/boards/catalog.py", "tritherm/firmware/__init__.py",
                     "tritherm/firmware/sim_harness.cpp"):
        assert expected in names, f"{expected} missing from {wheel.name}"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "tritherm = tritherm.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
