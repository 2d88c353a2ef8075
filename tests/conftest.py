import os
import random
from pathlib import Path

# Simulation builds of this checkout go to its own cache, so a clean clone builds afresh.
os.environ.setdefault("TRITHERM_CACHE", str(Path(__file__).resolve().parent.parent / ".tritherm-cache"))

# One seed for the whole run, chosen here (before pytest-xdist starts its workers, which
# inherit it) unless the caller fixes it to replay a failure.
os.environ.setdefault("TRITHERM_SEED", str(random.SystemRandom().randrange(1, 2 ** 24)))


def pytest_report_header(config):
    seed = os.environ["TRITHERM_SEED"]
    return f"tritherm random seed {seed} (replay with TRITHERM_SEED={seed} make test)"
