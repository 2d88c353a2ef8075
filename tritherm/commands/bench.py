"""``tritherm bench``."""

from __future__ import annotations

import sys

from tritherm.commands._output import add_json_option, print_json, step_progress, table
from tritherm.commands._values import parse_count, parse_seed
from tritherm.errors import UserError
from tritherm.formats import TERNARY_VARIANTS
from tritherm.files import output_path, staged_outputs

#: Samples per mode `tritherm bench coupler-stats` takes: its statistics need at least
#: MIN; every sample is kept in memory (with the float chain beside it) up to MAX.
MIN_STATS_SAMPLES = 100
MAX_STATS_SAMPLES = 2 ** 22


def run(args) -> int:
    if args.time_to_solution and args.core != "coupler":
        raise UserError("--time-to-solution applies to `tritherm bench coupler` only")
    if args.core != "generate":
        given = [option for option, value in (("--backends", args.backends),
                                              ("--hidden", args.hidden),
                                              ("--count", args.count)) if value is not None]
        if given:
            raise UserError(f"{', '.join(given)} {'apply' if len(given) > 1 else 'applies'} to "
                            f"`tritherm bench generate` only")
    if args.core != "ternary":
        given = [option for option, value in (("--lanes", args.lanes), ("--inputs", args.inputs),
                                              ("--variant", args.variant),
                                              ("--layer", args.layer or None)) if value is not None]
        if given:
            raise UserError(f"{', '.join(given)} {'apply' if len(given) > 1 else 'applies'} to "
                            f"`tritherm bench ternary` only")
    if args.core == "coupler-stats":
        return _bench_coupler_stats(args)
    if args.core == "digits":
        return _bench_digits(args)
    if args.core == "generate":
        return _bench_generate(args)
    given = [option for option, value in (("--samples", args.samples),
                                          ("--backend", args.backend), ("--plot", args.plot),
                                          ("--seed", args.seed)) if value is not None]
    if given:
        raise UserError(f"{', '.join(given)} {'apply' if len(given) > 1 else 'applies'} to "
                        f"`tritherm bench coupler-stats` only (--samples, --backend, --plot, "
                        f"--seed; --seed also to generate)")
    families = tuple(args.family) if args.family else ("ice40", "ecp5")
    out = _say(args)
    if args.core == "coupler":
        from tritherm.bench import COUPLER_CELLS, bench_coupler
        from tritherm.formats import COUPLER_MAX_CELLS
        try:
            cells = (COUPLER_CELLS if args.cells is None else
                     tuple(int(c, 10) for c in args.cells.split(",")))
        except ValueError:
            raise UserError(f"--cells takes cell counts such as 8,16,64, got {args.cells!r}") \
                from None
        if not all(2 <= c <= COUPLER_MAX_CELLS for c in cells):
            raise UserError(f"--cells takes whole numbers from 2 to {COUPLER_MAX_CELLS}, got "
                            f"{args.cells!r}")
        if args.time_to_solution:
            return _bench_solution(args, (8,) if args.cells is None else cells, out)
        rows, accuracy = bench_coupler(families=families, cells=cells, quick=bool(args.quick),
                                       accuracy=not args.no_accuracy, out=out)
        return _json_rows(args, rows, accuracy)
    if args.cells is not None or args.no_accuracy:
        raise UserError("--cells and --no-accuracy apply to `tritherm bench coupler` only")
    if args.core == "noise":
        from tritherm.bench import bench_noise
        return _json_rows(args, bench_noise(families=families, quick=bool(args.quick), out=out))
    from tritherm.bench import QUICK_SIZES, bench_point, bench_ternary
    variants = tuple(dict.fromkeys(args.variant)) if args.variant else None
    if args.layer:
        if args.lanes is not None or args.inputs is not None or variants or args.quick:
            raise UserError("--layer takes only --family and --json (it reads the measured "
                            "rows; --lanes and --inputs place one size)")
        from tritherm.bench import bench_layer
        layer = bench_layer(families=families, out=out)
        if args.json:
            print_json({"core": "ternary-layer", "rows": [row.figures() for row in layer]})
        return 0
    if (args.lanes is None) != (args.inputs is None):
        raise UserError("--lanes and --inputs go together: give both to place one size")
    if args.lanes is not None:
        if args.quick:
            raise UserError("--quick does not apply with --lanes and --inputs (one size)")
        lanes = parse_count(args.lanes, "lanes", high=1024)
        inputs = parse_count(args.inputs, "inputs", high=256)
        return _json_rows(args, bench_point(lanes, inputs, families=families,
                                            variants=variants or ("dense",), out=out))
    return _json_rows(args, bench_ternary(sizes=QUICK_SIZES if args.quick else None,
                                          families=families, variants=variants, out=out))


def _bench_solution(args, cells, out) -> int:
    if args.family or args.quick or args.no_accuracy:
        raise UserError("--time-to-solution takes only --cells and --json")
    from tritherm.bench.coupler import solution_table, time_to_solution
    rows = time_to_solution(cells=cells, out=out)
    if args.json:
        print_json({"core": "coupler-time-to-solution", "rows": [r.figures() for r in rows]})
    else:
        print(solution_table(rows))
    return 0


def _bench_digits(args) -> int:
    given = [option for option, value in (
        ("--family", args.family), ("--quick", args.quick or None), ("--cells", args.cells),
        ("--no-accuracy", args.no_accuracy or None), ("--samples", args.samples),
        ("--backend", args.backend), ("--plot", args.plot), ("--seed", args.seed))
        if value is not None]
    if given:
        raise UserError(f"`tritherm bench digits` takes only --json, not {', '.join(given)}")
    from tritherm.bench.digits import bench_digits
    accuracy, rows = bench_digits(out=_say(args))
    if args.json:
        print_json({"core": "digits", "accuracy": [_row(r) for r in accuracy],
                    "throughput": [{"board": t.board, "lanes": t.shape.lanes,
                                    "inputs": t.shape.inputs, "max_k": t.shape.capacity,
                                    "clock_hz": t.clock_hz, "baud": t.baud,
                                    "macs_per_image": t.macs_per_image,
                                    "tiles_per_image": t.tiles_per_image,
                                    "cycles_per_image": t.cycles_per_image,
                                    "array_images_per_s": t.array_images_per_s,
                                    "link_bytes_per_image": t.link_bytes_per_image,
                                    "link_images_per_s": t.link_images_per_s,
                                    "images_per_s": t.images_per_s} for t in rows]})
    return 0


def _bench_generate(args) -> int:
    given = [option for option, value in (
        ("--family", args.family), ("--quick", args.quick or None), ("--cells", args.cells),
        ("--no-accuracy", args.no_accuracy or None), ("--samples", args.samples),
        ("--backend", args.backend), ("--plot", args.plot)) if value is not None]
    if given:
        raise UserError(f"`tritherm bench generate` takes --backends, --hidden, --count, "
                        f"--seed and --json, not {', '.join(given)}")
    from tritherm.apps.generate.sampling import BACKENDS
    from tritherm.bench.generate import DEFAULT_COUNT, DEFAULT_HIDDEN_SWEEP, bench_generate
    backends = (_names(args.backends, "backends", BACKENDS) if args.backends is not None
                else None)
    hidden = (DEFAULT_HIDDEN_SWEEP if args.hidden is None else
              tuple(parse_count(h, "hidden", high=1024) for h in _items(args.hidden, "hidden")))
    count = DEFAULT_COUNT if args.count is None else parse_count(args.count, "count",
                                                                 high=10_000)
    seed = parse_seed(args.seed) if args.seed is not None else 1
    quality, timing, sweep = bench_generate(backends, hidden, count, seed, out=_say(args))
    if args.json:
        print_json({"core": "generate", "seed": seed, "count": count,
                    "quality": [_row(r) for r in quality], "timing": [_row(r) for r in timing],
                    "hidden": [_row(r) for r in sweep]})
    return 0


def _items(text: str, what: str) -> list[str]:
    """The items of a comma-separated option value (none empty)."""
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise UserError(f"--{what} takes a comma-separated list, got {text!r}")
    return items


def _names(text: str, what: str, allowed) -> tuple[str, ...]:
    names = _items(text, what)
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise UserError(f"--{what} takes names from {', '.join(allowed)}, got "
                        f"{', '.join(map(repr, unknown))}")
    return tuple(dict.fromkeys(names))


def _say(args):
    """Where the tables and progress lines go: stdout, or stderr when stdout carries JSON."""
    stream = sys.stderr if args.json else sys.stdout

    def say(*parts, **_):
        print(*parts, file=stream, flush=True)
    return say


def _json_rows(args, rows, accuracy=None) -> int:
    """With --json, the benchmark's rows (every field of each) as one JSON document."""
    if args.json:
        document = {"core": args.core, "rows": [_row(r) for r in rows]}
        if accuracy is not None:
            document["accuracy"] = [_row(r) for r in accuracy]
        print_json(document)
    return 0


def _row(row) -> dict:
    """A benchmark row's fields and its derived figures (MAC/cycle, GMAC/s, steps/s)."""
    import dataclasses
    fields = dataclasses.asdict(row)
    for name in ("macs", "gmacs", "rate", "design", "noise", "cycles", "steps_per_s",
                 "independent_per_s"):
        if isinstance(getattr(type(row), name, None), property):
            fields[name] = getattr(row, name)
    return fields


def _bench_coupler_stats(args) -> int:
    from tritherm.sim import coupler_stats as stats
    if args.family or args.quick or args.cells is not None or args.no_accuracy:
        raise UserError("--family, --quick, --cells and --no-accuracy do not apply to "
                        "coupler-stats (it takes --samples, --backend, --plot, --seed)")
    plot = output_path("coupler-stats.png" if args.plot is None else args.plot, "--plot file",
                       (".png",))
    samples = (stats.DEFAULT_SAMPLES if args.samples is None else
               parse_count(args.samples, "samples", high=MAX_STATS_SAMPLES,
                           why="every sample is kept in memory"))
    if samples < MIN_STATS_SAMPLES:
        raise UserError(f"--samples must be at least {MIN_STATS_SAMPLES}, got {samples}")
    seed = parse_seed(args.seed) if args.seed is not None else 1
    backend = args.backend or "rtl"
    say = _say(args)
    say(f"coupler statistics: {stats.CELLS} cells, cond(A) = {stats.CONDITION:g}, "
          f"{samples} samples per mode on {backend}, seed {seed}", flush=True)
    bars = {}

    def progress(mode, done, total):
        if mode not in bars:
            bars[mode] = step_progress(mode)
            say(f"{mode}: {total} steps on {backend}", flush=True)
        bars[mode](done, total)

    results = stats.run_stats(samples, backend, seed, progress=progress)
    say(table(*stats.table(results)))
    passed = True
    for r in results:
        q = r.quantisation
        say(f"\n{r.mode}: kT {r.kT:.4g}, h {r.h:g}, thin {r.thin}, burn-in {r.burn_in} "
              f"steps, {r.steps} steps in {r.seconds:.1f} s; tau_int of x "
              f"{r.tau.min():.2g}..{r.tau.max():.2g} samples")
        say(f"  discretisation bias |discrete - kT A^-1| / |kT A^-1|: {r.bias:.2g}")
        say(f"  rounding bias: predicted {q['predicted']:.2g} (each rounding as uniform "
              f"noise of one LSB)" + (f"; measured {q['measured']:.2g} +- "
                                      f"{q['measured_se']:.2g} (golden model beside the float "
                                      f"chain on the same noise, {q['steps']} steps)"
                                      if "measured" in q else ""))
        for name, ok, detail in stats.verdicts(r):
            passed &= ok
            say(f"  {'PASS' if ok else 'FAIL'} {name}: {detail}")
    try:
        with staged_outputs(plot, what="--plot file") as (staged,):
            stats.plot(results, staged)
        say(f"\nplot written to {plot}")
    except stats.MatplotlibMissing as error:
        say(f"\n{error}.")
    say("verdict: " + ("the samples follow both references within their standard errors"
                       if passed else "FAIL (see above)"))
    if args.json:
        header, rows = stats.table(results)
        print_json({"core": "coupler-stats", "samples": samples, "backend": backend,
                    "seed": seed, "plot": str(plot), "passed": passed,
                    "rows": [dict(zip(header, row)) for row in rows],
                    "verdicts": [{"mode": r.mode, "check": name, "passed": ok, "detail": detail}
                                 for r in results for name, ok, detail in stats.verdicts(r)]})
    return 0 if passed else 1


def register(sub) -> None:
    """Add the command's parser to `sub`."""
    p = sub.add_parser("bench", help="measure logic, RAM, DSP and Fmax on iCE40 and ECP5")
    p.add_argument("core", choices=["ternary", "noise", "coupler", "coupler-stats", "digits",
                                    "generate"])
    p.add_argument("--family", action="append", choices=["ice40", "ecp5"],
                   help="only this FPGA family (repeatable)")
    p.add_argument("--quick", action="store_true", help="the smallest sizes only")
    p.add_argument("--lanes", help="ternary: place this one size, LANES x INPUTS (with --inputs)")
    p.add_argument("--inputs", help="ternary: activations a cycle of the one size (with --lanes)")
    p.add_argument("--variant", action="append",
                   choices=[*TERNARY_VARIANTS, "int8-dsp", "int8-logic", "lane-adder-tree",
                            "lane-compressor", "lane-bit-serial", "lane-lookup"],
                   help="ternary: only this design (repeatable; with --lanes the default is "
                        "dense)")
    p.add_argument("--layer", action="store_true",
                   help="ternary: one BitNet b1.58 2B4T layer at the measured rates (time, "
                        "weight bandwidth, what could feed it)")
    p.add_argument("--cells", help="coupler: cell counts, comma-separated (default 8,16,64)")
    p.add_argument("--time-to-solution", action="store_true",
                   help="coupler: time to 1%% and 0.1%% error of the 8x8 inverse on the "
                        "ULX3S-85F SoC (moments on chip, stream) and the iCEBreaker's, "
                        "against the golden model and thermox (about 5 minutes)")
    p.add_argument("--no-accuracy", action="store_true",
                   help="coupler: skip the inverse accuracy runs (about 3 minutes)")
    p.add_argument("--samples", help="coupler-stats: samples per mode (default 20000)")
    p.add_argument("--backend", choices=["rtl", "golden"],
                   help="coupler-stats: the core on Verilator (default) or the golden model")
    p.add_argument("--plot", help="coupler-stats: PNG of error against n "
                                  "(default coupler-stats.png)")
    p.add_argument("--seed", help="coupler-stats, generate: noise seed (default 1)")
    p.add_argument("--backends", help="generate: backends to time, comma-separated (default: "
                                      "every backend of `tritherm apps generate sample`; "
                                      "board runs on --port sim)")
    p.add_argument("--hidden", help="generate: hidden-unit counts of the sweep, "
                                    "comma-separated (default 32,64,128,256)")
    p.add_argument("--count", help="generate: images of each digit a generator makes for "
                                   "the quality tables (default 50)")
    add_json_option(p)
    p.set_defaults(func=run)

