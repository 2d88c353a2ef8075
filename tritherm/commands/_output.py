"""Tables and step progress on the terminal."""

from __future__ import annotations


def table(header, rows) -> str:
    """A plain-text table with a rule under the header (`tritherm.boards.catalog.format_table`)."""
    from tritherm.boards.catalog import format_table
    return format_table(header, rows)


def step_progress(label: str):
    """A `progress(done, total)` drawing a bar of steps on stderr (`tritherm.progress`)."""
    from tritherm.progress import steps
    return steps(label)


def add_json_option(parser) -> None:
    """``--json``: the command's result as one JSON document on stdout (keys in docs/cli.md)."""
    parser.add_argument("--json", action="store_true",
                        help="print the result as JSON (keys: docs/cli.md)")


def print_json(document) -> None:
    """Print `document` as JSON: numpy numbers and arrays become plain numbers and lists,
    NaN and infinities become null (JSON has none)."""
    import json
    print(json.dumps(_plain(document), indent=2))


def _plain(value):
    import math

    import numpy as np
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def waveform_hint(path) -> str:
    """How to open a VCD file that was just written."""
    return (f"open the waveform with GTKWave (`gtkwave {path}`) or Surfer (`surfer {path}`, "
            f"or drop the file on https://app.surfer-project.org in a browser)")
