"""The coupler in an RTL simulator with waves, and the golden model's trace beside them.

`run_with_waves` runs a `CouplerProgram` for a number of steps (THIN = 1: one sample per
step) on Icarus or Verilator with the waveform dumped to a VCD file, finds in that VCD the
clock edge at which each sample was offered, and writes the golden model's samples to a
second VCD (`golden_vcd_path`: ``wave.vcd`` -> ``wave.golden.vcd``) with the same timescale,
each sample at the time the RTL offered it, so that both line up in GTKWave or Surfer.
The golden trace's variables carry the names of the RTL's sample fields
(``samples__payload.seq``, ``.flags``, ``.x[i]``, ``.p[i]``; x and p signed 16-bit, as raw
register values) in a scope named ``golden``.

`read_vcd` is a small VCD reader of its own (pyvcd's tokenizer rejects the ``$rootio``
scope Verilator writes) that keeps the value changes of the variables asked for; the tests
use it on both files.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tritherm.formats import COUPLER_SEQ_BITS

from .coupler_vectors import (TOPLEVEL, CouplerJob, run_cocotb_jobs, sample_counts,
                            unpack_sample)
from ..golden import CouplerModel, CouplerProgram, CouplerSamples

__all__ = ["VcdTrace", "WaveRun", "read_vcd", "golden_vcd_path", "sample_offers",
           "write_golden_vcd", "run_with_waves", "GOLDEN_SCOPE", "MAX_STEPS"]

#: Scope of the golden model's variables in its VCD.
GOLDEN_SCOPE = "golden"
#: Most steps `run_with_waves` takes: the RTL waveform holds every signal of every cycle,
#: about 200 kB per step with 8 cells.
MAX_STEPS = 5000
_PAYLOAD = "samples__payload"


def golden_vcd_path(vcd) -> Path:
    """Where the golden trace of RTL waveform `vcd` goes: its suffix replaced by
    ``.golden.vcd`` (``wave.vcd`` -> ``wave.golden.vcd``, ``wave`` -> ``wave.golden.vcd``)."""
    return Path(vcd).with_suffix(".golden.vcd")


# --- reading --------------------------------------------------------------------------------

@dataclass
class VcdTrace:
    """What `read_vcd` keeps: the timescale (e.g. ``"1 ps"``), the width of every variable,
    keyed by ``(scope path, name)`` (escaping backslash dropped: ``(("coupler",),
    "samples__payload.x[0]")``), and the value changes of the selected ones as
    ``[(time, value)]`` (value an int, None where it has x or z bits)."""

    timescale: str
    widths: dict[tuple[tuple[str, ...], str], int]
    changes: dict[tuple[tuple[str, ...], str], list[tuple[int, int | None]]]

    def key(self, name: str, scope: str | None = None) -> tuple[tuple[str, ...], str]:
        """The one kept variable called `name` (in a scope whose innermost name is `scope`,
        if given); KeyError if there is none or more than one."""
        hits = [k for k in self.changes
                if k[1] == name and (scope is None or k[0][-1:] == (scope,))]
        if len(hits) != 1:
            raise KeyError(f"{len(hits)} variables named {name!r}"
                           + (f" in scope {scope!r}" if scope else "") + " in the VCD")
        return hits[0]

    def value_before(self, key, time: int) -> int | None:
        """Value of variable `key` just before `time` (its last change strictly earlier)."""
        changes = self.changes[key]
        k = bisect.bisect_left(changes, time, key=lambda change: change[0]) - 1
        return changes[k][1] if k >= 0 else None

    def final(self, key) -> int | None:
        """Last value of variable `key` (None if it never had one)."""
        changes = self.changes[key]
        return changes[-1][1] if changes else None


def _value(bits: str) -> int | None:
    bits = bits.lower()
    return int(bits, 2) if bits and set(bits) <= {"0", "1"} else None


def read_vcd(path, select=lambda scope, name: True) -> VcdTrace:
    """Read a VCD file (Icarus's, Verilator's, pyvcd's); keep the changes of the variables
    for which ``select(scope path, name)`` is true. Real and string changes are skipped."""
    widths, changes, ids = {}, {}, {}
    scopes: list[str] = []
    timescale, time = "", 0
    with open(path, encoding="ascii", errors="replace") as stream:
        tokens = (token for line in stream for token in line.split())
        for token in tokens:
            if token == "$enddefinitions":
                break
            if token == "$scope":
                _, name = next(tokens), next(tokens)
                scopes.append(name.lstrip("\\"))
            elif token == "$upscope":
                scopes.pop()
            elif token == "$var":
                _, size, ident, name = next(tokens), int(next(tokens)), next(tokens), \
                    next(tokens)
                key = (tuple(scopes), name.lstrip("\\"))
                widths[key] = size
                if select(*key):
                    changes[key] = []
                    ids.setdefault(ident, []).append(changes[key])
            elif token == "$timescale":
                parts = []
                while (part := next(tokens)) != "$end":
                    parts.append(part)
                text = "".join(parts)
                digits = text.rstrip("abcdefghijklmnopqrstuvwxyz")
                timescale = f"{digits} {text[len(digits):]}"
                continue
            else:
                continue
            while next(tokens) != "$end":
                pass
        for token in tokens:
            head = token[0]
            if head == "#":
                time = int(token[1:])
            elif head in "bB":
                ident = next(tokens)
                for target in ids.get(ident, ()):
                    target.append((time, _value(token[1:])))
            elif head in "rRsS":
                next(tokens)
            elif head in "01xXzZ":
                for target in ids.get(token[1:], ()):
                    target.append((time, _value(head)))
    return VcdTrace(timescale, widths, changes)


def sample_offers(trace: VcdTrace, scope: str = TOPLEVEL) -> list[tuple[int, int, int]]:
    """The samples the core handed over in an RTL trace, as ``(offered, taken, word)``:
    when `samples__valid` went high for that sample (or the previous transfer, if it stayed
    high), the rising clock edge of the transfer, and the payload. `trace` must keep
    ``clk``, ``samples__valid``, ``samples__ready`` and ``samples__payload`` of the module
    scope `scope`."""
    clk, valid, ready, payload = (trace.key(n, scope) for n in
                                  ("clk", "samples__valid", "samples__ready", _PAYLOAD))
    rises, level = [], None
    for t, v in trace.changes[valid]:
        if v == 1 and level != 1:
            rises.append(t)
        level = v
    offers, last, level = [], 0, None
    for t, v in trace.changes[clk]:
        rising, level = v == 1 and level == 0, v
        if not rising or trace.value_before(valid, t) != 1 \
                or trace.value_before(ready, t) != 1:
            continue
        word = trace.value_before(payload, t)
        if word is None:
            raise ValueError(f"the core's sample payload has x or z bits at time {t}")
        k = bisect.bisect_left(rises, t) - 1
        offers.append((max(rises[k] if k >= 0 else 0, last), t, word))
        last = t
    return offers


# --- writing --------------------------------------------------------------------------------

def write_golden_vcd(path, samples: CouplerSamples, times, timescale: str,
                     program: CouplerProgram) -> None:
    """The golden model's samples as a VCD: initial state (x0, p0, seq 0) at time 0, sample
    k at ``times[k]``; variables named as the RTL's sample fields in scope ``golden``."""
    from vcd import VCDWriter

    cells = program.cells
    width = program.fmt.state.width
    mask = (1 << width) - 1
    with open(path, "w") as stream, VCDWriter(stream, timescale=timescale,
                                              version="tritherm golden model",
                                              comment="CouplerModel samples, placed at the "
                                                      "times the RTL offered them") as out:
        scope = GOLDEN_SCOPE
        seq = out.register_var(scope, f"{_PAYLOAD}.seq", "wire", COUPLER_SEQ_BITS, init=0)
        flags = out.register_var(scope, f"{_PAYLOAD}.flags", "wire", cells, init=0)
        xs = [out.register_var(scope, f"{_PAYLOAD}.x[{i}]", "wire", width,
                               init=int(program.x0[i]) & mask) for i in range(cells)]
        ps = [out.register_var(scope, f"{_PAYLOAD}.p[{i}]", "wire", width,
                               init=int(program.p0[i]) & mask) for i in range(cells)]
        for k, t in enumerate(times):
            out.change(seq, t, int(samples.seq[k]))
            out.change(flags, t, sum(int(f) << i for i, f in enumerate(samples.flags[k])))
            for i in range(cells):
                out.change(xs[i], t, int(samples.x[k, i]) & mask)
                out.change(ps[i], t, int(samples.p[k, i]) & mask)


# --- running --------------------------------------------------------------------------------

@dataclass
class WaveRun:
    """The result of `run_with_waves`: the RTL's samples (decoded from the words the
    testbench received), the golden model's, the times the RTL offered each sample (in
    the VCDs' `timescale`), both files, and the first difference (None if they agree)."""

    rtl: CouplerSamples
    golden: CouplerSamples
    times: list[int]
    timescale: str
    rtl_vcd: Path
    golden_vcd: Path
    mismatch: str | None


def _decode(words: list[int], cells: int) -> CouplerSamples:
    decoded = [unpack_sample(w, cells) for w in words]
    if not decoded:
        return CouplerSamples.concatenate([], cells)
    return CouplerSamples(*(np.array([s[k] for s in decoded], dtype=np.int64)
                            for k in ("seq", "flags", "x", "p")))


def _first_difference(rtl: CouplerSamples, golden: CouplerSamples) -> str | None:
    if len(rtl) != len(golden):
        return f"the RTL gave {len(rtl)} samples, the golden model {len(golden)}"
    for k in range(len(rtl)):
        for key in ("seq", "flags", "x", "p"):
            a, b = getattr(rtl, key)[k], getattr(golden, key)[k]
            if not np.array_equal(a, b):
                return (f"sample {k} (step {int(golden.seq[k])}): {key} is "
                        f"{np.asarray(a).tolist()} on the RTL, "
                        f"{np.asarray(b).tolist()} in the golden model")
    return None


def _run_rtl_with_waves(dut, program: CouplerProgram, steps: int, simulator: str,
                        vcd: Path) -> list[int]:
    jobs = [CouplerJob("waves", [("write", program.writes()), ("run", steps)])]
    counts = sample_counts(jobs, program.cells, program.shaper)
    return run_cocotb_jobs(dut, simulator, jobs, counts, vcd=vcd)[0]


def run_with_waves(program: CouplerProgram, steps: int, multipliers: int, simulator: str,
                   vcd) -> WaveRun:
    """Run `program` for `steps` steps (one sample per step) on `simulator` ("icarus" or
    "verilator") with its waveform in `vcd`; write the golden model's trace to
    `golden_vcd_path(vcd)` and compare the two sample by sample."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be a whole number in [1, {MAX_STEPS}], got {steps!r}")
    from tritherm.hdl.thermo.wide import WideCoupler

    if simulator not in ("icarus", "verilator"):
        raise ValueError(f"simulator must be icarus or verilator, got {simulator!r}")
    dut = WideCoupler(program.cells, multipliers, program.shaper)   # checks cells, multipliers
    program = program.with_(thin=1)
    vcd = Path(vcd)
    golden_path = golden_vcd_path(vcd)
    if golden_path.resolve() == vcd.resolve():
        raise ValueError(f"the VCD file {vcd} must not end in .golden.vcd (that name is "
                         f"kept for the golden model's trace)")
    words = _run_rtl_with_waves(dut, program, steps, simulator, vcd)
    model = CouplerModel(program.cells, program.shaper)
    model.load(program.writes())
    golden = model.run(steps)
    rtl_samples = _decode(words, program.cells)
    trace = read_vcd(vcd, lambda scope, name: scope[-1:] == (TOPLEVEL,) and name in
                     ("clk", "samples__valid", "samples__ready", _PAYLOAD))
    offers = sample_offers(trace)
    mismatch = _first_difference(rtl_samples, golden)
    seen = [w for _, _, w in offers]
    if mismatch is None and seen != words:
        mismatch = (f"the waveform shows {len(seen)} sample transfers that differ from the "
                    f"{len(words)} the testbench received")
    times = [offered for offered, _, _ in offers]
    if len(times) != len(golden):      # keep the golden trace whole even so
        times = (times + [times[-1] if times else 0] * len(golden))[:len(golden)]
    write_golden_vcd(golden_path, golden, times, trace.timescale, program)
    return WaveRun(rtl_samples, golden, times, trace.timescale, vcd, golden_path, mismatch)

