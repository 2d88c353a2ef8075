"""The ``tritherm`` command.

Every subcommand is a small function; user errors (bad files, bad values, missing tools,
unknown boards) end as one sentence on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tritherm import toolchain

__all__ = ["main"]


class UserError(Exception):
    """A mistake in the command's input, reported as one sentence."""


def _shape(args):
    from tritherm.formats import TernaryArrayShape
    return TernaryArrayShape(args.lanes, args.inputs, args.max_k)


def _add_shape_options(parser, lanes=4, inputs=5, max_k=80):
    parser.add_argument("--lanes", type=int, default=lanes, help="output neurons in parallel")
    parser.add_argument("--inputs", type=int, default=inputs,
                        help="activations per cycle (multiples of 5 waste no weight bits)")
    parser.add_argument("--max-k", type=int, default=max_k, help="longest dot product")


# --- doctor, boards, verilog ---------------------------------------------------------------

def cmd_doctor(args) -> int:
    rows = toolchain.survey()
    print(_table(("tool", "version", "from", "path"), [row[:4] for row in rows]))
    missing = [row[0] for row in rows if row[2] == "missing" and row[4]]
    if missing:
        print(f"missing required tools: {', '.join(missing)}", file=sys.stderr)
        return 1
    print("all required tools found")
    return 0


def cmd_boards(args) -> int:
    from tritherm.boards.catalog import boards_table
    print(boards_table())
    return 0


def cmd_verilog(args) -> int:
    from amaranth.back import verilog
    from tritherm.hdl.ternary import TernaryArray
    text = verilog.convert(TernaryArray(_shape(args)), name=args.name, emit_src=False)
    Path(args.output).write_text(text)
    print(f"wrote {args.output}: module {args.name}, {_shape(args)}")
    return 0


# --- sim -----------------------------------------------------------------------------------

def _load_int_array(path: str, what: str):
    import numpy as np
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UserError(f"{what} file {path} does not exist") from None
    except (ValueError, OSError):
        raise UserError(f"{what} file {path} is not a NumPy .npy array of numbers") from None
    if array.dtype.kind not in "iuf" or (array.dtype.kind == "f" and not
                                          np.array_equal(array, np.round(array))):
        raise UserError(f"{what} in {path} must be integers, got dtype {array.dtype}")
    return array


def _ternary_inputs(args):
    from tritherm.sim.golden import check_int8, check_ternary
    weights = check_ternary(_load_int_array(args.weights, "weights"))
    activations = check_int8(_load_int_array(args.activations, "activations"))
    if weights.ndim != 2:
        raise UserError(f"weights must be an N x K matrix, got shape {weights.shape}")
    if activations.ndim not in (1, 2):
        raise UserError(f"activations must have shape (K,) or (B, K), got {activations.shape}")
    if activations.shape[-1] != weights.shape[1]:
        raise UserError(f"activations have K = {activations.shape[-1]} but weights have "
                        f"K = {weights.shape[1]}")
    return weights, activations


def cmd_sim_ternary(args) -> int:
    from tritherm.sim.verify.ternary_driver import run_matrix
    weights, activations = _ternary_inputs(args)
    if args.backend == "board":
        if args.vcd:
            raise UserError("--vcd needs --backend sim (a board leaves no waveform)")
        with _open_device(args) as device:
            return _matvec_on_device(device, weights, activations, args)
    _no_port_without_board(args)
    shape = _shape(args)
    print(f"simulating {weights.shape[0]}x{weights.shape[1]} ternary weights x "
          f"{activations.shape} int8 activations on {args.simulator}, array {shape}",
          flush=True)
    run = run_matrix(weights, activations, shape, args.simulator, vcd=args.vcd)
    return _matrix_report(run, args)


def _matrix_report(run, args) -> int:
    import numpy as np
    vcd = getattr(args, "vcd", None)
    np.save(args.out, run.result.astype(np.int32))
    print(f"{run.tiles} tiles; results written to {args.out}"
          + (f"; waveform in {vcd}" if vcd else ""))
    if run.mismatch:
        print(f"FAIL: first mismatch at {run.mismatch}")
        return 1
    print(f"PASS: all {run.result.size} outputs equal the golden model")
    return 0


# --- noise, noise-test ---------------------------------------------------------------------

NOISE_FORMATS = ("raw", "int", "float", "hex")

NOISE_HELP = """\
Write counter-based noise (Threefry-2x32, Random123) to stdout or --out.

Streams (the default): stream i of seed S is Threefry-2x32 under key (i, S), its block b
is counter b; --streams M interleaves streams 0..M-1 (block b of stream 0, of stream 1,
..., then block b+1).
  --format raw    the *uniform* words: each block as out0 then out1, 32-bit little-endian
                  (what dieharder -g 200 reads); --count counts blocks per stream and may
                  be left out: then the words never end (until the reader closes the pipe).
  --format hex    the same blocks as text, one block a line: "out0 out1" (8 hex digits).
  --format int    Gaussian samples of the shaper (--shaper icdf or clt), raw signed
                  16-bit values with 12 fraction bits (4096 = one sigma); one step a line,
                  M samples (streams 0..M-1) per line; --count counts steps.
  --format float  the same samples / 4096, in sigmas (exact decimals).

Plain blocks (--uniform): Threefry-2x32 of counters C, C+1, ... (64-bit, c0 + 2**32 c1)
under key K, one block a line as "out0 out1" (--format hex, the default) or as raw bytes,
to check against Random123:
  tritherm noise --uniform --key 0:0 --counter 0:0 --count 1   ->   6b200159 99ba4efe
Words are hex, with or without 0x.

Examples:
  tritherm noise --seed 1 --format raw | dieharder -g 200 -Y 1 -a
  tritherm noise --seed 1 --count 1000000 --format float --shaper clt --out noise.txt"""


def _count(text, what="count", required=True):
    if text is None:
        if required:
            raise UserError(f"--{what} is required (only --format raw may run without it)")
        return None
    try:
        if isinstance(text, str):
            base, _, power = text.replace("_", "").partition("**")   # 10**9 is welcome
            value = int(base, 0) ** int(power, 0) if power else int(base, 0)
        else:
            value = int(text)
    except ValueError:
        raise UserError(f"--{what} must be a whole number, got {text!r}") from None
    if value <= 0:
        raise UserError(f"--{what} must be at least 1, got {value}")
    return value


def _hex_word(text: str, what: str) -> int:
    digits = text.strip()
    digits = digits[2:] if digits.lower().startswith("0x") else digits
    if not digits or not all(ch in "0123456789abcdefABCDEF" for ch in digits):
        raise UserError(f"{what} {text!r} is not a hexadecimal word")
    value = int(digits, 16)
    if value >> 32:
        raise UserError(f"{what} {text!r} does not fit in 32 bits")
    return value


def _hex_pair(text: str, what: str) -> tuple[int, int]:
    parts = text.split(":")
    if len(parts) != 2:
        raise UserError(f"{what} must be two hex words W0:W1, got {text!r}")
    return _hex_word(parts[0], f"{what} word 0"), _hex_word(parts[1], f"{what} word 1")


def _seed(text) -> int:
    try:
        value = int(text, 0) if isinstance(text, str) else int(text)
    except ValueError:
        raise UserError(f"--seed must be a whole number (decimal or 0x hex), got {text!r}") \
            from None
    if not 0 <= value < 1 << 32:
        raise UserError(f"--seed must be in [0, 2**32 - 1], got {value}")
    return value


def _rounds(text) -> int:
    from tritherm.formats import THREEFRY_MAX_ROUNDS
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 1 <= value <= THREEFRY_MAX_ROUNDS:
        raise UserError(f"--rounds must be a whole number in [1, {THREEFRY_MAX_ROUNDS}], "
                        f"got {text!r}")
    return value


def _streams(text, low=1, high=1 << 16) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise UserError(f"--streams must be a whole number in [{low}, {high}], got {text!r}")
    return value


def _noise_text(chunk, fmt: str) -> bytes:
    """A chunk as text lines: hex blocks (blocks, 2) or Gaussian steps (steps, streams)."""
    if fmt == "hex":
        rows = chunk.reshape(-1, 2).tolist()
        return "".join(f"{a:08x} {b:08x}\n" for a, b in rows).encode()
    rows = chunk.tolist() if fmt == "int" else (chunk / 4096.0).tolist()
    if chunk.shape[1] == 1:
        return ("\n".join(map(str, (r[0] for r in rows))) + "\n").encode()
    return "".join(" ".join(map(str, r)) + "\n" for r in rows).encode()


def _noise_chunks(args):
    """Validate the `noise` options; return (format, iterator of byte strings)."""
    from tritherm.sim.noise_stats import counter_chunks, gaussian_chunks, uniform_chunks
    fmt = args.format or ("hex" if args.uniform else "int")
    if fmt not in NOISE_FORMATS:
        raise UserError(f"--format must be one of {', '.join(NOISE_FORMATS)}, got {fmt!r}")
    rounds = _rounds(args.rounds)
    if args.uniform:
        if fmt not in ("hex", "raw"):
            raise UserError("--uniform writes plain Threefry blocks: use --format hex or raw")
        for option, value in (("--seed", args.seed), ("--streams", args.streams),
                              ("--shaper", args.shaper)):
            if value is not None:
                raise UserError(f"{option} has no meaning with --uniform (the key is --key)")
        if args.key is None:
            raise UserError("--uniform needs --key K0:K1 (two hex words)")
        key0, key1 = _hex_pair(args.key, "--key")
        c0, c1 = _hex_pair(args.counter or "0:0", "--counter")
        count = _count(args.count)
        chunks = counter_chunks(key0, key1, c0 | c1 << 32, count, rounds)
    else:
        if args.key is not None or args.counter is not None:
            raise UserError("--key and --counter need --uniform")
        seed = _seed(args.seed if args.seed is not None else "0")
        streams = _streams(args.streams if args.streams is not None else "1")
        shaper = args.shaper or "icdf"
        if shaper not in ("clt", "icdf"):
            raise UserError(f"--shaper must be clt or icdf, got {shaper!r}")
        if fmt in ("raw", "hex"):
            if args.shaper is not None:
                raise UserError(f"--format {fmt} writes the uniform words; --shaper applies "
                                "to --format int and float")
            count = _count(args.count, required=fmt == "hex")
            chunks = uniform_chunks(seed, streams, count, rounds)
        else:
            chunks = gaussian_chunks(seed, streams, _count(args.count), shaper, rounds)
    if fmt == "raw":
        return (chunk.astype("<u4").tobytes() for chunk in chunks)
    return (_noise_text(chunk, fmt) for chunk in chunks)


def cmd_noise(args) -> int:
    import os
    chunks = _noise_chunks(args)
    first = next(chunks, b"")       # every value is checked before a file is created
    if args.out:
        with open(args.out, "wb") as out:
            out.write(first)
            for chunk in chunks:
                out.write(chunk)
        return 0
    stdout = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
    try:
        if stdout is None:          # a text-only stdout (captured): decode text formats
            for chunk in (first, *chunks):
                sys.stdout.write(chunk.decode("latin-1"))
            return 0
        stdout.write(first)
        for chunk in chunks:
            stdout.write(chunk)
        stdout.flush()
    except BrokenPipeError:
        # The reader (head, dieharder) has all it wants: stop quietly. Point stdout at
        # /dev/null so the interpreter's final flush does not complain either.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
    return 0


def cmd_noise_test(args) -> int:
    if args.gaussian:
        return _noise_test_gaussian(args)
    return _noise_test_dieharder(args)


def _progress(line: str) -> None:
    print(f"noise-test: {line}", file=sys.stderr, flush=True)


def _noise_test_gaussian(args) -> int:
    from tritherm.sim.noise_stats import gaussian_battery
    n = _count(args.samples if args.samples is not None else "1000000", "samples")
    if n < 100:
        raise UserError(f"--samples must be at least 100, got {n}")
    streams = _streams(args.streams if args.streams is not None else "8", low=2, high=1024)
    seed = _seed(args.seed)
    reports = gaussian_battery(seed, n, streams, rounds=_rounds(args.rounds),
                               progress=_progress)
    bound = reports[0].autocorrelation.bound
    print(f"Gaussian noise, {n} samples per stream, seed {seed}; units: the target sigma "
          f"(raw / 4096).\nExpected values are exact (enumerated law of the shaper); +- is "
          f"one standard error; independence bound 4/sqrt(n) = {bound:.2e}.")
    rows = []
    for r in reports:
        m = r.moments

        def z(value, exact, se):
            return f"z = {(value - exact) / se:+.1f}" if se > 0 else ""
        rows += [
            (r.source, "mean", f"{m.mean:+.2e}", f"{r.exact_mean:+.2e} +- {r.mean_se:.1e}",
             z(m.mean, r.exact_mean, r.mean_se)),
            (r.source, "variance", f"{m.variance:.5f}",
             f"{r.exact_variance:.5f} +- {r.variance_se:.1e}",
             z(m.variance, r.exact_variance, r.variance_se)),
            (r.source, "skewness", f"{m.skewness:+.4f}",
             f"{r.exact_skewness:+.4f} +- {r.skewness_se:.1e}",
             z(m.skewness, r.exact_skewness, r.skewness_se)),
            (r.source, "excess kurtosis", f"{m.excess_kurtosis:+.4f}",
             f"{r.exact_excess_kurtosis:+.4f} +- {r.kurtosis_se:.1e}",
             z(m.excess_kurtosis, r.exact_excess_kurtosis, r.kurtosis_se)),
            (r.source, "KS distance from normal", f"{r.ks:.2e}",
             f"{r.ks_exact:.2e} (law), noise ~{0.87 / n ** 0.5:.0e}", ""),
            (r.source, "Anderson-Darling A^2", f"{r.ad:.4g}", f"{r.ad_expected:.4g} (mean)", ""),
        ]
        for check in (r.autocorrelation, r.cross_correlation):
            rows.append((r.source, check.what, f"{check.worst:.2e} ({check.where})",
                         f"< {check.bound:.2e}", "PASS" if check.passed else "FAIL"))
    print(_table(("source", "statistic", "measured", "expected", "check"), rows))
    print("\nsources: " + "; ".join(f"{r.source} = {r.description}" for r in reports))
    threefry_ok = all(r.independent for r in reports if not r.source.startswith("lfsr"))
    print("independence: " + ("PASS" if threefry_ok else "FAIL") + " for the counter-based "
          "streams" + "".join(f"; {r.source}: {'PASS' if r.independent else 'FAIL'}"
                              for r in reports if r.source.startswith("lfsr")))
    return 0 if threefry_ok else 1


def _noise_test_dieharder(args) -> int:
    from tritherm.sim.noise_stats import QUICK_TESTS, DieharderMissing, run_dieharder
    if args.quick and args.full:
        raise UserError("choose one of --quick and --full")
    seed = _seed(args.seed)
    streams = _streams(args.streams if args.streams is not None else "1")
    psamples = _count(args.psamples, "psamples", required=False)
    if args.test:
        tests = [_test_number(t) for t in args.test]
    elif args.full:
        tests = [None]
    else:
        tests = [number for number, _ in QUICK_TESTS]
    try:
        rows, seconds = run_dieharder(tests, seed, streams, _rounds(args.rounds), psamples,
                                      progress=_progress,
                                      row=lambda r: _progress(f"  {r.test}: {r.assessment}"))
    except DieharderMissing as error:
        raise UserError(str(error)) from None
    except RuntimeError as error:
        raise UserError(str(error)) from None
    from tritherm.sim.noise_stats import final_results
    final = final_results(rows)
    reruns = len(rows) - len(final)
    print(f"dieharder -Y 1 on `tritherm noise --seed {seed} --streams {streams} --format raw` "
          f"(Threefry-2x32-{_rounds(args.rounds)} uniform words), {seconds:.0f} s")
    print(_table(("test", "ntup", "tsamples", "psamples", "p-value", "assessment"),
                 [(r.test, r.ntup, r.tsamples, r.psamples, f"{r.p_value:.8f}", r.assessment)
                  for r in final]))
    counts = {v: sum(r.assessment == v for r in final) for v in ("PASSED", "WEAK", "FAILED")}
    print(f"{counts['PASSED']} passed, {counts['WEAK']} weak, {counts['FAILED']} failed"
          + (f"; {reruns} WEAK result(s) (p < 0.005 or > 0.995, about 1 test in 100 by chance)"
             " re-run with more p-values" if reruns else ""))
    return 1 if counts["FAILED"] else 0


def _test_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise UserError(f"--test takes a dieharder test number (see `dieharder -l`), "
                        f"got {text!r}")
    return value


# --- build, bench --------------------------------------------------------------------------

BUILD_TARGETS = ("ternary-selftest", "noise-selftest")


def cmd_build(args) -> int:
    from tritherm.boards.catalog import get_board
    if args.target is None:
        return _build_soc(args)
    if args.design is not None:
        raise UserError("--design chooses what the SoC build holds; leave out the target "
                        f"{args.target!r} to use it")
    if args.target not in BUILD_TARGETS:
        raise UserError(f"unknown build target {args.target!r}; available: "
                        f"{', '.join(BUILD_TARGETS)}, or none for the SoC")
    board = get_board(args.board)
    if args.target == "noise-selftest":
        if _array_options(args) or _soc_options(args):
            raise UserError("noise-selftest takes no sizes (--lanes, --inputs, --max-k "
                            "are ternary-selftest's; --cells, --multipliers, --shaper, "
                            "--clock-mhz the SoC's)")
        from tritherm.boards.build import build_noise_selftest
        report = build_noise_selftest(board, build_dir=args.build_dir)
        return 0 if report.timing_met else 1
    if _soc_options(args):
        raise UserError("--cells, --multipliers, --shaper and --clock-mhz size the SoC; "
                        "leave out the target to build it")
    from tritherm.boards.build import build_selftest
    shape = _array_shape(board.selftest_shape, args) if _array_options(args) else None
    report = build_selftest(board, shape=shape, build_dir=args.build_dir)
    return 0 if report.timing_met else 1


def _array_options(args) -> bool:
    return any(getattr(args, name) is not None for name in ("lanes", "inputs", "max_k"))


def _array_shape(default, args):
    """`default` (a TernaryArrayShape) with --lanes, --inputs and --max-k where given."""
    from tritherm.formats import TernaryArrayShape

    def given(value, fallback):
        return fallback if value is None else value
    return TernaryArrayShape(given(args.lanes, default.lanes), given(args.inputs, default.inputs),
                             given(args.max_k, default.max_k))


def _soc_options(args) -> bool:
    return any(getattr(args, name) is not None
               for name in ("cells", "multipliers", "shaper", "clock_mhz"))


def _build_soc(args) -> int:
    from tritherm.boards.build import build_soc
    from tritherm.boards.catalog import get_board
    from tritherm.boards.soc_top import SOC_DESIGNS
    design = args.design or "soc"
    if design not in SOC_DESIGNS:
        raise UserError(f"--design must be one of {', '.join(SOC_DESIGNS)}, got {design!r}")
    report = build_soc(args.board, design, build_dir=args.build_dir,
                       config=_soc_config(get_board(args.board).soc, args))
    return 0 if report.timing_met else 1


def _soc_config(board_config, args):
    """The board's SocConfig with the sizes given on the command line (SocConfig checks
    them); None when none is given."""
    changes = {}
    if _array_options(args):
        changes["array"] = _array_shape(board_config.array, args)
    for name in ("cells", "multipliers", "shaper"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if args.clock_mhz is not None:
        changes["clock_hz"] = args.clock_mhz * 1e6
    return board_config.with_(**changes) if changes else None


def cmd_flash(args) -> int:
    from tritherm.boards.build import program_board
    flash = True if args.flash else False if args.sram else None
    command = program_board(args.board, args.bitstream, flash)
    print(f"loaded: {' '.join(command)}")
    return 0


def cmd_bench(args) -> int:
    if args.core == "coupler-stats":
        return _bench_coupler_stats(args)
    if args.samples or args.backend or args.plot or args.seed:
        raise UserError("--samples, --backend, --plot and --seed apply to coupler-stats only")
    families = tuple(args.family) if args.family else ("ice40", "ecp5")
    out = lambda line: print(line, flush=True)  # noqa: E731
    if args.core == "coupler":
        from tritherm.bench import COUPLER_CELLS, bench_coupler
        try:
            cells = tuple(int(c) for c in args.cells.split(",")) if args.cells else COUPLER_CELLS
        except ValueError:
            raise UserError(f"--cells takes cell counts such as 8,16,64, got {args.cells!r}") \
                from None
        bench_coupler(families=families, cells=cells, quick=bool(args.quick),
                      accuracy=not args.no_accuracy, out=out)
        return 0
    if args.cells or args.no_accuracy:
        raise UserError("--cells and --no-accuracy apply to `tritherm bench coupler` only")
    if args.core == "noise":
        from tritherm.bench import bench_noise
        bench_noise(families=families, quick=bool(args.quick), out=out)
        return 0
    from tritherm.bench import QUICK_SIZES, bench_ternary
    bench_ternary(sizes=QUICK_SIZES if args.quick else None, families=families, out=out)
    return 0


def cmd_demo(args) -> int:
    from tritherm.demo import run_demo
    return run_demo(build=not args.no_build)


# --- plumbing ------------------------------------------------------------------------------

def _table(header, rows) -> str:
    rows = [tuple(str(cell) for cell in row) for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = "  ".join("-" * w for w in widths)
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), line, *(fmt.format(*r) for r in rows)])


# --- linalg --------------------------------------------------------------------------------

def _load_array(path: str, what: str):
    import numpy as np
    p = Path(path)
    if not p.exists():
        raise UserError(f"{what} file {path} does not exist")
    if p.is_dir():
        raise UserError(f"{what} file {path} is a directory")
    try:
        if p.suffix.lower() == ".npy":
            array = np.load(p, allow_pickle=False)
        elif p.suffix.lower() == ".csv":
            array = np.loadtxt(p, delimiter=",", dtype=float, ndmin=2)
        else:
            raise UserError(f"{what} file {path} must be a .npy or .csv file")
        array = np.asarray(array, dtype=float)
    except UserError:
        raise
    except (ValueError, OSError, TypeError):
        raise UserError(f"{what} file {path} is not a numeric .npy or .csv array") from None
    return array


def _linalg_inputs(args):
    """--samples, --seed, --matrix and --rhs of linalg and run sample."""
    try:
        samples = int(args.samples)
    except ValueError:
        raise UserError(f"--samples must be a whole number, got {args.samples!r}") from None
    try:
        seed = int(args.seed, 0)
    except ValueError:
        raise UserError(f"--seed must be a whole number, got {args.seed!r}") from None
    A = _load_array(args.matrix, "matrix")
    b = None
    if args.rhs is not None:
        b = _load_array(args.rhs, "right-hand side").ravel()
    return samples, seed, A, b


def _step_progress(label: str):
    """A `progress(done, total)` that shows steps on stderr once a run takes 2 s."""
    start, shown = time.monotonic(), [0.0, False]

    def progress(done, total):
        now = time.monotonic()
        if now - start >= 2 and (now - shown[0] >= 1 or done == total):
            shown[0], shown[1] = now, True
            print(f"\r{label}: {done}/{total} steps ({100 * done / total:.0f}%)", end="",
                  file=sys.stderr, flush=True)
        if done == total and shown[1]:
            print(file=sys.stderr)
    return progress


def cmd_linalg(args) -> int:
    samples, seed, A, b = _linalg_inputs(args)
    if args.op == "solve" and b is None:
        raise UserError("solve needs --rhs b.npy or b.csv")
    if args.op == "inv" and b is not None:
        raise UserError("inv takes no --rhs")
    if args.out and Path(args.out).suffix.lower() not in (".npy", ".csv"):
        raise UserError(f"--out must name a .npy or .csv file, got {args.out}")
    if args.backend != "board":
        _no_port_without_board(args)
        return _linalg(args, A, b, samples, seed, None)
    with _open_device(args) as device:
        return _linalg(args, A, b, samples, seed, device)


def _linalg(args, A, b, samples, seed, device) -> int:
    import numpy as np
    from tritherm.sim import linalg
    kwargs = dict(backend=args.backend, seed=seed, progress=_step_progress(args.op),
                  device=device)
    if args.op == "inv":
        result = linalg.inverse(A, samples, **kwargs)
    elif args.op == "solve":
        result = linalg.solve(A, b, samples, **kwargs)
    else:
        result = linalg.sample(A, samples, b, **kwargs)
    estimate = result.estimate
    if args.out:
        if args.out.lower().endswith(".npy"):
            np.save(args.out, estimate)
        else:
            np.savetxt(args.out, np.atleast_2d(estimate) if estimate.ndim < 2 else estimate,
                       delimiter=",")
    with np.printoptions(precision=6, suppress=True, linewidth=120):
        if args.op == "sample":
            print(f"{len(estimate)} draws of N(A^-1 b, A^-1)"
                  + (f" written to {args.out}" if args.out else "; mean:"))
            if not args.out:
                print(estimate.mean(axis=0))
        else:
            print("estimate:")
            print(estimate)
    what = "covariance of the draws" if args.op == "sample" else "estimate"
    print(f"relative error (Frobenius) of the {what} against numpy.linalg: "
          f"{result.relative_error:.3g}")
    print(f"standard error (Frobenius, relative): "
          f"{np.linalg.norm(result.standard_error) / np.linalg.norm(result.exact):.3g}")
    print(f"{result.samples_used} samples, {result.steps} steps, backend {result.backend}, "
          f"{result.seconds:.2f} s")
    return 0


# --- run: drive a SoC over its serial port, or the simulated SoC --------------------------

RUN_HELP = """\
Drive a tritherm SoC: a board over its USB-UART (--port /dev/ttyUSB1), or the same SoC
simulated by Verilator (--port sim). --board checks the device against that board's SoC
(and simulates that SoC with --port sim; without it, the small simulation SoC).

  identify   the identity registers: sizes, formats, clock, baud, protocol version
  flags      sticky flags, saturated cells and error counters (--clear clears them)
  noise      raw Gaussian samples of the coupler's noise source
  matvec     W @ x on the ternary array, checked against the golden model
  sample     coupler draws of N(A^-1 b, A^-1), checked bit for bit against the golden model

Examples:
  tritherm run --port sim identify
  tritherm run --board icebreaker --port /dev/ttyUSB1 matvec --weights W.npy \\
      --activations x.npy --out y.npy"""


def _no_port_without_board(args) -> None:
    if getattr(args, "port", None) or getattr(args, "board", None):
        raise UserError("--port and --board go with --backend board")


def _open_device(args):
    """The device on --port (a serial port, or sim), checked against --board's SoC."""
    from tritherm.firmware.device import open_device
    if not getattr(args, "port", None):
        raise UserError("--backend board needs --port: the board's serial port (such as "
                        "/dev/ttyUSB1), or sim for the simulated SoC")
    config, what = None, "the SoC expected"
    if getattr(args, "board", None):
        from tritherm.boards.catalog import get_board
        board = get_board(args.board)
        config, what = board.soc, f"the {board.name} SoC"
    return open_device(args.port, config, what=what,
                       progress=lambda text: print(f"{text} ...", file=sys.stderr, flush=True))


def cmd_run(args) -> int:
    actions = {"identify": _run_identify, "flags": _run_flags, "noise": _run_noise,
               "matvec": _run_matvec, "sample": _run_sample}
    with _open_device(args) as device:
        return actions[args.action](device, args)


def _run_identify(device, args) -> int:
    print(f"{device.transport.description}: tritherm SoC")
    print(_table(("register", "value"), device.identity.rows()))
    return 0


def _run_flags(device, args) -> int:
    report = device.flags(clear=args.clear)
    print(_table(("flag", "value"), report.rows()))
    if args.clear:
        print("cleared the flags and counters shown")
    return 0


def _run_noise(device, args) -> int:
    from tritherm.formats import (COUPLER_REG_SEED, COUPLER_REGION_SCALAR, NOISE_FORMAT,
                                  coupler_address)
    beats = _count(args.beats, "beats")
    if args.seed is not None:
        device.configure_coupler([(coupler_address(COUPLER_REGION_SCALAR, COUPLER_REG_SEED),
                                   _seed(args.seed))])
    values = device.noise(beats)
    for row in values:
        print(" ".join(f"{v:6d}" for v in row))
    sigmas = values / NOISE_FORMAT.one
    print(f"{values.size} samples ({beats} beats x {values.shape[1]} cells, "
          f"{NOISE_FORMAT.one} = one sigma): mean {sigmas.mean():+.3f}, "
          f"sd {sigmas.std():.3f} sigma")
    return 0


def _run_matvec(device, args) -> int:
    weights, activations = _ternary_inputs(args)
    return _matvec_on_device(device, weights, activations, args)


def _matvec_on_device(device, weights, activations, args) -> int:
    shape = device.identity.array
    print(f"running {weights.shape[0]}x{weights.shape[1]} ternary weights x "
          f"{activations.shape} int8 activations on {device.transport.description}, "
          f"array {shape}", flush=True)
    return _matrix_report(device.matmul(weights, activations), args)


def _run_sample(device, args) -> int:
    import numpy as np
    from tritherm.sim import linalg
    samples, seed, A, b = _linalg_inputs(args)
    if args.out and Path(args.out).suffix.lower() != ".npy":
        raise UserError(f"--out must name a .npy file, got {args.out}")
    result = linalg.sample(A, samples, b, backend="board", device=device, seed=seed,
                           progress=_step_progress("sample"))
    golden = linalg.sample(A, samples, b, backend="golden", seed=seed)
    if args.out:
        np.save(args.out, result.estimate)
    raw = result.raw
    with np.printoptions(precision=4, suppress=True, linewidth=120):
        print(f"{samples} draws of N(A^-1 b, A^-1) from {device.transport.description} "
              f"(seq {raw.seq[0]}..{raw.seq[-1]}, a sample every {result.program.thin} "
              f"steps, {result.seconds:.2f} s)" + (f", written to {args.out}" if args.out
                                                     else ""))
        print("first draws:")
        print(result.estimate[:3])
        print("mean:")
        print(result.estimate.mean(axis=0))
    print(f"relative error (Frobenius) of the draws' covariance against A^-1: "
          f"{result.relative_error:.3g}")
    keys = ("seq", "flags", "x", "p")
    differ = [k for k in keys if not np.array_equal(getattr(raw, k), getattr(golden.raw, k))]
    if differ:
        print(f"FAIL: the device's samples differ from the golden model's in {', '.join(differ)}")
        return 1
    print(f"PASS: all {samples} samples (seq, flags, x, p) equal the golden model bit for bit")
    return 0


# --- coupler: sim coupler --vcd, bench coupler-stats ---------------------------------------

def _writable(path: Path, what: str) -> None:
    """UserError unless `path` can be written (without creating it)."""
    import os
    parent = path.parent
    problem = ("it is a directory" if path.is_dir() else
               f"the directory {parent} does not exist" if not parent.is_dir() else
               "permission denied" if not os.access(parent, os.W_OK)
               or (path.exists() and not os.access(path, os.W_OK)) else None)
    if problem:
        raise UserError(f"cannot write the {what} {path}: {problem}")


def cmd_sim_coupler(args) -> int:
    import math

    import numpy as np

    from tritherm.formats import COUPLER_MAX_CELLS
    from tritherm.sim.verify.coupler_vectors import random_spd
    from tritherm.sim.coupler_stats import coupler_plan
    from tritherm.sim.verify.coupler_vcd import MAX_STEPS, golden_vcd_path, run_with_waves
    steps = _count(args.steps, "steps")
    if steps > MAX_STEPS:
        raise UserError(f"--steps must be at most {MAX_STEPS} (the waveform holds every "
                        f"signal of every cycle), got {steps}")
    seed = _seed(args.seed)
    cells = _count(args.cells, "cells", required=False)
    if args.matrix:
        A = _load_array(args.matrix, "matrix")
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise UserError(f"the matrix in {args.matrix} must be square, got shape {A.shape}")
        if cells is not None and cells != A.shape[0]:
            raise UserError(f"--cells {cells} does not match the {A.shape[0]} x "
                            f"{A.shape[1]} matrix in {args.matrix}")
        cells = A.shape[0]
    elif cells is None:
        raise UserError("give the number of cells (--cells N) or a matrix (--matrix A.npy)")
    if not 2 <= cells <= COUPLER_MAX_CELLS:
        raise UserError(f"cells must be an integer in [2, {COUPLER_MAX_CELLS}], got {cells}")
    multipliers = _count(args.multipliers, "multipliers", required=False) \
        or math.gcd(cells, 4)
    if not args.matrix:
        A = random_spd(np.random.default_rng(seed), cells, 10.0, 1.0)
    vcd = Path(args.vcd)
    if vcd.suffix.lower() != ".vcd":
        raise UserError(f"--vcd must name a .vcd file, got {args.vcd}")
    golden = golden_vcd_path(vcd)
    _writable(vcd, "VCD file")
    _writable(golden, "golden VCD file")
    program = coupler_plan(A, args.mode, seed, thin=1).program
    print(f"coupler: {cells} cells, {multipliers} multipliers, {args.mode}, {steps} steps on "
          f"{args.simulator}, seed {seed}" + ("" if args.matrix else
                                              " (random A, condition number 10)"), flush=True)
    run = run_with_waves(program, steps, multipliers, args.simulator, vcd)
    print(f"RTL waveform: {vcd}\ngolden model: {golden} (scope golden, timescale "
          f"{run.timescale}, {len(run.golden)} samples at the times the RTL offered them)")
    one = program.fmt.state.one
    with np.printoptions(precision=4, suppress=True, linewidth=120):
        for name, samples in (("RTL", run.rtl), ("golden", run.golden)):
            if len(samples):
                print(f"{name:>6} step {int(samples.seq[-1])}: x = {samples.x[-1] / one}, "
                      f"p = {samples.p[-1] / one}, flags {samples.flags[-1].tolist()}")
    if run.mismatch:
        print(f"FAIL: {run.mismatch}")
        return 1
    print(f"PASS: the RTL and the golden model agree on all {len(run.golden)} samples "
          f"(seq, flags, x, p)")
    return 0


def _bench_coupler_stats(args) -> int:
    from tritherm.sim import coupler_stats as stats
    if args.family or args.quick or args.cells or args.no_accuracy:
        raise UserError("--family, --quick, --cells and --no-accuracy do not apply to "
                        "coupler-stats (it takes --samples, --backend, --plot, --seed)")
    samples = _count(args.samples, "samples") if args.samples else stats.DEFAULT_SAMPLES
    seed = _seed(args.seed) if args.seed else 1
    backend = args.backend or "rtl"
    plot = Path(args.plot or "coupler-stats.png")
    if plot.suffix.lower() != ".png":
        raise UserError(f"--plot must name a .png file, got {plot}")
    _writable(plot, "plot file")
    print(f"coupler statistics: {stats.CELLS} cells, cond(A) = {stats.CONDITION:g}, "
          f"{samples} samples per mode on {backend}, seed {seed}", flush=True)
    bars = {}

    def progress(mode, done, total):
        if mode not in bars:
            bars[mode] = _step_progress(mode)
            print(f"{mode}: {total} steps on {backend}", flush=True)
        bars[mode](done, total)

    results = stats.run_stats(samples, backend, seed, progress=progress)
    print(_table(*stats.table(results)))
    passed = True
    for r in results:
        q = r.quantisation
        print(f"\n{r.mode}: kT {r.kT:.4g}, h {r.h:g}, thin {r.thin}, burn-in {r.burn_in} "
              f"steps, {r.steps} steps in {r.seconds:.1f} s; tau_int of x "
              f"{r.tau.min():.2g}..{r.tau.max():.2g} samples")
        print(f"  discretisation bias |discrete - kT A^-1| / |kT A^-1|: {r.bias:.2g}")
        print(f"  rounding bias: predicted {q['predicted']:.2g} (each rounding as uniform "
              f"noise of one LSB)" + (f"; measured {q['measured']:.2g} +- "
                                      f"{q['measured_se']:.2g} (golden model beside the float "
                                      f"chain on the same noise, {q['steps']} steps)"
                                      if "measured" in q else ""))
        for name, ok, detail in stats.verdicts(r):
            passed &= ok
            print(f"  {'PASS' if ok else 'FAIL'} {name}: {detail}")
    try:
        stats.plot(results, plot)
        print(f"\nplot written to {plot}")
    except stats.MatplotlibMissing as error:
        plot.unlink(missing_ok=True)
        print(f"\n{error}.")
    print("verdict: " + ("the samples follow both references within their standard errors"
                         if passed else "FAIL (see above)"))
    return 0 if passed else 1



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tritherm", description="Frugal AI hardware on open FPGAs: ternary MAC array "
                                     "and thermodynamic coupler.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("doctor", help="list the toolchain: each tool, version and origin")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("boards", help="list the supported boards")
    p.set_defaults(func=cmd_boards)

    p = sub.add_parser("verilog", help="write a core as Verilog")
    p.add_argument("core", choices=["ternary"])
    _add_shape_options(p)
    p.add_argument("-o", "--output", required=True, help="Verilog file to write")
    p.add_argument("--name", default="ternary_array", help="top module name")
    p.set_defaults(func=cmd_verilog)

    p = sub.add_parser("sim", help="run your own data through a simulated core")
    sim_sub = p.add_subparsers(dest="core", required=True, metavar="CORE")
    q = sim_sub.add_parser("ternary", help="ternary matrix product W @ x on the array")
    q.add_argument("--weights", required=True, help="N x K .npy of values in {-1, 0, 1}")
    q.add_argument("--activations", required=True, help="K or B x K .npy of int8 values")
    q.add_argument("--simulator", choices=["amaranth", "icarus", "verilator"],
                   default="amaranth")
    q.add_argument("--vcd", help="write the array's waveform to this VCD file")
    q.add_argument("--out", required=True, help=".npy file for the int32 results")
    _add_shape_options(q)
    q.add_argument("--backend", choices=["sim", "board"], default="sim",
                   help="sim: --simulator with the shape options; board: the SoC on --port")
    _add_device_options(q)
    q.set_defaults(func=cmd_sim_ternary)
    q = sim_sub.add_parser(
        "coupler", help="run the coupler in an RTL simulator with waves, golden trace beside",
        description="Run the coupler for --steps steps (one sample per step) on Verilator or "
                    "Icarus, with its waveform in --vcd FILE, and write the golden model's "
                    "samples to FILE with its suffix replaced by .golden.vcd (wave.vcd -> "
                    "wave.golden.vcd): the sample fields samples__payload.seq, .flags, "
                    ".x[i], .p[i] (raw signed 16-bit) in scope golden, each at the time the "
                    "RTL offered that sample, same timescale. A is --matrix (.npy/.csv, "
                    "symmetric positive definite) or a random one with condition number 10, "
                    "scaled into the fixed-point formats as `tritherm linalg` does.")
    q.add_argument("--cells", help="number of cells, 2..64 (default: the matrix's size)")
    q.add_argument("--steps", required=True,
                   help="steps to run, at most 5000 (8 cells: about 200 kB of VCD a step)")
    q.add_argument("--vcd", required=True, help="the RTL's waveform (.vcd)")
    q.add_argument("--multipliers", help="MAC units, a power of two dividing the cells "
                                         "(default gcd(cells, 4))")
    q.add_argument("--matrix", help="A (.npy/.csv); default: random SPD")
    q.add_argument("--mode", choices=["underdamped", "overdamped"], default="underdamped")
    q.add_argument("--seed", default="1", help="noise seed, and the random A's (default 1)")
    q.add_argument("--simulator", choices=["verilator", "icarus"], default="verilator")
    q.set_defaults(func=cmd_sim_coupler)

    p = sub.add_parser("build", help="build a bitstream for a board: the SoC, or a self-test")
    p.add_argument("target", nargs="?", default=None,
                   help="ternary-selftest or noise-selftest; leave out for the SoC")
    p.add_argument("--board", required=True, help="board name (see `tritherm boards`)")
    p.add_argument("--design", help="without a target: soc (the default) or echo (a UART "
                                    "loopback, to bring up a board)")
    p.add_argument("--build-dir", "--out", dest="build_dir", default=None,
                   help="where the tool outputs go (default build/<board>-<design>)")
    p.add_argument("--lanes", type=int, help="array lanes (default: the board's size)")
    p.add_argument("--inputs", type=int, help="activations per cycle")
    p.add_argument("--max-k", type=int, help="longest dot product")
    p.add_argument("--cells", type=int, help="SoC: coupler cells (default: the board's)")
    p.add_argument("--multipliers", type=int, help="SoC: the coupler's A x multipliers")
    p.add_argument("--shaper", help="SoC: the noise shaper, clt or icdf")
    p.add_argument("--clock-mhz", type=float,
                   help="SoC: the design clock in MHz (the board clock needs no PLL; "
                        "another must be exact from it)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("flash", help="load a bitstream into a board (openFPGALoader, icesprog)")
    p.add_argument("--board", required=True, help="board name (see `tritherm boards`)")
    p.add_argument("--bitstream", help="the file to load (default: the SoC built by "
                                       "`tritherm build --board B`)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--sram", action="store_true",
                      help="load the configuration SRAM (lost at power-off; the default "
                           "where the board can)")
    mode.add_argument("--flash", action="store_true", help="write the SPI flash (kept)")
    p.set_defaults(func=cmd_flash)

    p = sub.add_parser("bench", help="measure logic, RAM, DSP and Fmax on iCE40 and ECP5")
    p.add_argument("core", choices=["ternary", "noise", "coupler", "coupler-stats"])
    p.add_argument("--family", action="append", choices=["ice40", "ecp5"],
                   help="only this FPGA family (repeatable)")
    p.add_argument("--quick", action="store_true", help="the smallest sizes only")
    p.add_argument("--cells", help="coupler: cell counts, comma-separated (default 8,16,64)")
    p.add_argument("--no-accuracy", action="store_true",
                   help="coupler: skip the inverse accuracy runs (about 3 minutes)")
    p.add_argument("--samples", help="coupler-stats: samples per mode (default 20000)")
    p.add_argument("--backend", choices=["rtl", "golden"],
                   help="coupler-stats: the core on Verilator (default) or the golden model")
    p.add_argument("--plot", help="coupler-stats: PNG of error against n "
                                  "(default coupler-stats.png)")
    p.add_argument("--seed", help="coupler-stats: noise seed (default 1)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("noise", help="write counter-based noise: uniform words or Gaussians",
                       description=NOISE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", help="user seed, 0..2**32-1 (default 0)")
    p.add_argument("--count", help="blocks (raw, hex) or steps (int, float) per stream; "
                                   "raw without --count never ends")
    p.add_argument("--format", default=None, metavar="{raw,int,float,hex}",
                   help="raw: uniform 32-bit LE words; int/float: Gaussian samples, one step "
                        "a line; hex: blocks as text (default: int, or hex with --uniform)")
    p.add_argument("--shaper", help="Gaussian shaper for int/float: icdf (default) or clt")
    p.add_argument("--streams", help="interleave streams 0..M-1 (default 1)")
    p.add_argument("--rounds", default="20", help="Threefry rounds, 1..32 (default 20)")
    p.add_argument("--out", help="write here instead of stdout")
    p.add_argument("--uniform", action="store_true",
                   help="plain Threefry-2x32 blocks of --counter, +1, ... under --key")
    p.add_argument("--key", metavar="K0:K1", help="with --uniform: the key, two hex words")
    p.add_argument("--counter", metavar="C0:C1",
                   help="with --uniform: the first counter (default 0:0)")
    p.set_defaults(func=cmd_noise)

    p = sub.add_parser("noise-test", help="test the noise: dieharder, or Gaussian statistics",
                       description="Without --gaussian: pipe `tritherm noise --format raw` "
                       "into `dieharder -g 200` and print its results as a table (--quick, "
                       "the default: 13 tests, about two minutes; --full: the whole "
                       "battery, `dieharder -a`, an hour or more; equivalently "
                       "`tritherm noise --seed 1 --format raw | dieharder -g 200 -Y 1 -a`). "
                       "dieharder runs with -Y 1: a WEAK result is re-run with more p-values "
                       "until it resolves. "
                       "With --gaussian: mean, variance, skewness, kurtosis, KS and "
                       "Anderson-Darling distance from the normal, autocorrelation and "
                       "cross-correlation of 8 streams for both shapers and for a 32-bit "
                       "LFSR CLT generator. Exit status 1 if a test fails.")
    p.add_argument("--quick", action="store_true", help="a fast subset of dieharder (default)")
    p.add_argument("--full", action="store_true", help="the whole dieharder battery (-a)")
    p.add_argument("--test", action="append", metavar="N",
                   help="only dieharder test number N (repeatable; see `dieharder -l`)")
    p.add_argument("--psamples", help="p-values per dieharder test (smaller is faster)")
    p.add_argument("--seed", default="1", help="noise seed (default 1)")
    p.add_argument("--streams", help="streams: interleaved for dieharder (default 1), "
                                     "cells for --gaussian (default 8)")
    p.add_argument("--rounds", default="20", help="Threefry rounds, 1..32 (default 20)")
    p.add_argument("--gaussian", action="store_true",
                   help="Gaussian statistics and independence instead of dieharder")
    p.add_argument("--samples", help="samples per stream for --gaussian (default 10**6)")
    p.set_defaults(func=cmd_noise_test)

    p = sub.add_parser("linalg", help="thermodynamic linear algebra on the coupler: "
                                      "A^-1, A^-1 b, Gaussian samples")
    p.add_argument("op", choices=["inv", "solve", "sample"])
    p.add_argument("--matrix", required=True, help="symmetric positive definite A (.npy/.csv)")
    p.add_argument("--rhs", help="b (.npy/.csv): required for solve, the mean for sample")
    p.add_argument("--backend", choices=["golden", "rtl", "board"], default="golden")
    p.add_argument("--samples", default="10000", help="samples to average (default 10000)")
    p.add_argument("--seed", default="1", help="noise seed (default 1)")
    p.add_argument("--out", help="write the estimate (or the draws) to this .npy/.csv")
    _add_device_options(p)
    p.set_defaults(func=cmd_linalg)

    p = sub.add_parser("run", help="drive a SoC on a board (or simulated): identify, flags, "
                                   "noise, matvec, sample",
                       description=RUN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_device_options(p, required=True)
    run_sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    run_sub.add_parser("identify", help="the identity registers")
    q = run_sub.add_parser("flags", help="sticky flags, saturated cells, error counters")
    q.add_argument("--clear", action="store_true", help="clear them after reading")
    q = run_sub.add_parser("noise", help="raw Gaussian samples of the noise source")
    q.add_argument("--beats", default="4", help="beats of one sample per cell (default 4)")
    q.add_argument("--seed", help="write this noise seed first (restarts the streams)")
    q = run_sub.add_parser("matvec", help="W @ x on the ternary array, against the golden "
                                          "model")
    q.add_argument("--weights", required=True, help="N x K .npy of values in {-1, 0, 1}")
    q.add_argument("--activations", required=True, help="K or B x K .npy of int8 values")
    q.add_argument("--out", required=True, help=".npy file for the int32 results")
    q = run_sub.add_parser("sample", help="coupler draws of N(A^-1 b, A^-1), against the "
                                          "golden model bit for bit")
    q.add_argument("--matrix", required=True, help="symmetric positive definite A (.npy/.csv)")
    q.add_argument("--rhs", help="b (.npy/.csv): the mean is A^-1 b")
    q.add_argument("--samples", default="1000", help="draws (default 1000)")
    q.add_argument("--seed", default="1", help="noise seed (default 1)")
    q.add_argument("--out", help="write the draws to this .npy")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="the main job: simulate against the golden model, build")
    p.add_argument("--no-build", action="store_true", help="skip the bitstream builds")
    p.set_defaults(func=cmd_demo)
    return parser


def _add_device_options(parser, required: bool = False) -> None:
    parser.add_argument("--port", required=required,
                        help="the board's serial port (/dev/ttyUSB1), or sim for the SoC "
                             "simulated by Verilator" + ("" if required else
                                                         " (with --backend board)"))
    parser.add_argument("--board", help="board name: check the device against its SoC "
                                        "(and, with --port sim, simulate that SoC)")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    toolchain.setup()
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the one place errors become sentences
        if not _is_user_error(error):
            raise
        print(f"tritherm: error: {_sentence(error)}", file=sys.stderr)
        return 2


def _is_user_error(error: Exception) -> bool:
    from tritherm.sim.verify.rtl import CocotbFailure
    user_errors = (UserError, ValueError, toolchain.ToolMissing, CocotbFailure,
                   FileNotFoundError, PermissionError, IsADirectoryError)
    try:
        from tritherm.boards.build import BuildError
        user_errors += (BuildError,)
    except ImportError:
        pass
    from tritherm.firmware.transport import DeviceError
    user_errors += (DeviceError,)
    return isinstance(error, user_errors)


def _sentence(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    if isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError)) \
            and error.filename:
        text = f"{error.strerror.lower()}: {error.filename}"
    return text if text.endswith(".") else text + "."


if __name__ == "__main__":
    sys.exit(main())
