import os
from pathlib import Path

# Simulation builds of this checkout go to its own cache, so a clean clone builds afresh.
os.environ.setdefault("TRITHERM_CACHE", str(Path(__file__).resolve().parent.parent / ".tritherm-cache"))
