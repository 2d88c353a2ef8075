"""The ``tritherm`` command.

Every subcommand is a small function; user errors (bad files, bad values, missing tools,
unknown boards) end as one sentence on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
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
    from tritherm.hdl.ternary import TernaryArray
    from tritherm.sim.rtl import verilog_of
    text = verilog_of(TernaryArray(_shape(args)), args.name)
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


def cmd_sim_ternary(args) -> int:
    import numpy as np

    from tritherm.sim.golden import check_int8, check_ternary
    from tritherm.sim.ternary_driver import run_matrix
    weights = check_ternary(_load_int_array(args.weights, "weights"))
    activations = check_int8(_load_int_array(args.activations, "activations"))
    if weights.ndim != 2:
        raise UserError(f"weights must be an N x K matrix, got shape {weights.shape}")
    if activations.ndim not in (1, 2):
        raise UserError(f"activations must have shape (K,) or (B, K), got {activations.shape}")
    if activations.shape[-1] != weights.shape[1]:
        raise UserError(f"activations have K = {activations.shape[-1]} but weights have "
                        f"K = {weights.shape[1]}")
    shape = _shape(args)
    print(f"simulating {weights.shape[0]}x{weights.shape[1]} ternary weights x "
          f"{activations.shape} int8 activations on {args.simulator}, array {shape}",
          flush=True)
    run = run_matrix(weights, activations, shape, args.simulator, vcd=args.vcd)
    np.save(args.out, run.result.astype(np.int32))
    print(f"{run.tiles} tiles; results written to {args.out}"
          + (f"; waveform in {args.vcd}" if args.vcd else ""))
    if run.mismatch:
        print(f"FAIL: first mismatch at {run.mismatch}")
        return 1
    print(f"PASS: all {run.result.size} outputs equal the golden model")
    return 0


# --- build, bench --------------------------------------------------------------------------

def cmd_build(args) -> int:
    from tritherm.boards.build import build_selftest
    from tritherm.boards.catalog import get_board
    if args.target != "ternary-selftest":
        raise UserError(f"unknown build target {args.target!r}; available: ternary-selftest")
    board = get_board(args.board)
    shape = None
    if args.lanes or args.inputs or args.max_k:
        from tritherm.formats import TernaryArrayShape
        default = board.selftest_shape
        shape = TernaryArrayShape(args.lanes or default.lanes, args.inputs or default.inputs,
                                  args.max_k or default.max_k)
    report = build_selftest(board, shape=shape, build_dir=args.build_dir)
    return 0 if report.timing_met else 1


def cmd_bench(args) -> int:
    from tritherm.boards.bench import QUICK_SIZES, bench_ternary
    bench_ternary(sizes=QUICK_SIZES if args.quick else None,
                  families=tuple(args.family) if args.family else ("ice40", "ecp5"),
                  out=lambda line: print(line, flush=True))
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
    q.set_defaults(func=cmd_sim_ternary)

    p = sub.add_parser("build", help="build a bitstream for a board")
    p.add_argument("target", help="what to build: ternary-selftest")
    p.add_argument("--board", required=True, help="board name (see `tritherm boards`)")
    p.add_argument("--build-dir", default=None, help="where the tool outputs go")
    p.add_argument("--lanes", type=int, help="array lanes (default: the board's size)")
    p.add_argument("--inputs", type=int, help="activations per cycle")
    p.add_argument("--max-k", type=int, help="longest dot product")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("bench", help="measure logic, RAM, DSP and Fmax on iCE40 and ECP5")
    p.add_argument("core", choices=["ternary"])
    p.add_argument("--family", action="append", choices=["ice40", "ecp5"],
                   help="only this FPGA family (repeatable)")
    p.add_argument("--quick", action="store_true", help="the smallest sizes only")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("demo", help="the main job: simulate against the golden model, build")
    p.add_argument("--no-build", action="store_true", help="skip the bitstream builds")
    p.set_defaults(func=cmd_demo)
    return parser


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
    from tritherm.sim.rtl import CocotbFailure
    user_errors = (UserError, ValueError, toolchain.ToolMissing, CocotbFailure,
                   FileNotFoundError, PermissionError, IsADirectoryError)
    try:
        from tritherm.boards.build import BuildError
        user_errors += (BuildError,)
    except ImportError:
        pass
    return isinstance(error, user_errors)


def _sentence(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    if isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError)) \
            and error.filename:
        text = f"{error.strerror.lower()}: {error.filename}"
    return text if text.endswith(".") else text + "."


if __name__ == "__main__":
    sys.exit(main())
