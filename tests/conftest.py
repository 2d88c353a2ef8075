import os
import random
from pathlib import Path

import numpy as np
import pytest

# Simulation builds of this checkout go to its own cache, so a clean clone builds afresh.
os.environ.setdefault("TRITHERM_CACHE", str(Path(__file__).resolve().parent.parent / ".tritherm-cache"))

# One seed for the whole run, chosen here (before pytest-xdist starts its workers, which
# inherit it) unless the caller fixes it to replay a failure.
os.environ.setdefault("TRITHERM_SEED", str(random.SystemRandom().randrange(1, 2 ** 24)))


def pytest_report_header(config):
    seed = os.environ["TRITHERM_SEED"]
    return f"tritherm random seed {seed} (replay with TRITHERM_SEED={seed} make test)"


# --- fixtures shared by test modules (a module's own fixture of the same name wins) --------

@pytest.fixture
def rng():
    """A generator seeded with the run's seed, printed for replay."""
    seed = int(os.environ["TRITHERM_SEED"])
    print(f"seed {seed} (replay with TRITHERM_SEED={seed})")
    return np.random.default_rng(seed)


@pytest.fixture(scope="module")
def split():
    """The digit classifier's fixed train/test split (`tritherm.apps.digits.load_split`)."""
    from tritherm.apps.digits import load_split
    return load_split()


@pytest.fixture(scope="module")
def shipped():
    """The shipped digit classifier (`tritherm.apps.digits.load_model`)."""
    from tritherm.apps.digits import load_model
    return load_model()


@pytest.fixture
def cli(capsys):
    """`tritherm ARGV...` run in this process: ``cli(argv) -> (exit status, stdout,
    stderr)``, each argument passed through str()."""
    from tritherm.cli import main

    def run(argv):
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return run
