"""``tritherm build``: the SoC or a self-test bitstream for a board, with its resource and
timing table (exit status 1 when timing is not met)."""

from __future__ import annotations

import math
import sys

from tritherm.commands._output import add_json_option, print_json
from tritherm.commands._values import option_names
from tritherm.errors import UserError
from tritherm.files import output_directory

BUILD_TARGETS = ("ternary-selftest", "noise-selftest")


def run(args) -> int:
    from tritherm.boards.catalog import get_board
    if args.build_dir is not None:
        output_directory(args.build_dir, "--build-dir")
    if args.clock_mhz is not None and not 0 < args.clock_mhz < math.inf:
        raise UserError(f"--clock-mhz must be a positive number of MHz, got {args.clock_mhz}")
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
                            "--quartic, --moments, --clock-mhz the SoC's)")
        from tritherm.boards.build import build_noise_selftest
        report = build_noise_selftest(board, build_dir=args.build_dir, progress=_say(args))
        return _finish(report, board, args)
    if _soc_options(args):
        raise UserError("--cells, --multipliers, --shaper, --quartic, --moments and "
                        "--clock-mhz size the SoC; leave out the target to build it")
    from tritherm.boards.build import build_selftest
    shape = _array_shape(board.selftest_shape, args) if _array_options(args) else None
    report = build_selftest(board, shape=shape, build_dir=args.build_dir, progress=_say(args))
    return _finish(report, board, args)


def _say(args):
    """Where the build's messages go: stdout, or stderr when stdout carries --json."""
    if args.json:
        return lambda text: print(text, file=sys.stderr, flush=True)
    return lambda text: print(text, flush=True)


def _finish(report, board, args) -> int:
    """The exit status (1 when timing is not met), after the JSON document if asked."""
    if args.json:
        from tritherm.boards.report import report_summary
        print_json({"board": board.name, "target": args.target or args.design or "soc",
                    **report_summary(report)})
    return 0 if report.timing_met else 1


def _array_options(args) -> bool:
    return any(getattr(args, name) is not None for name in ("lanes", "inputs", "max_k"))


def _array_shape(default, args):
    """`default` (a TernaryArrayShape) with --lanes, --inputs and --max-k where given."""
    from tritherm.formats import TernaryArrayShape

    def given(value, fallback):
        return fallback if value is None else value
    try:
        return TernaryArrayShape(given(args.lanes, default.lanes),
                                 given(args.inputs, default.inputs),
                                 given(args.max_k, default.max_k))
    except ValueError as error:
        raise UserError(option_names(str(error), _OPTIONS)) from None


def _soc_options(args) -> bool:
    return any(getattr(args, name) is not None
               for name in ("cells", "multipliers", "shaper", "quartic", "moments",
                            "clock_mhz"))


def _build_soc(args) -> int:
    from tritherm.boards.build import build_soc
    from tritherm.boards.catalog import get_board
    from tritherm.boards.soc_top import SOC_DESIGNS
    design = "soc" if args.design is None else args.design
    if design not in SOC_DESIGNS:
        raise UserError(f"--design must be one of {', '.join(SOC_DESIGNS)}, got {design!r}")
    if design == "echo" and (_array_options(args) or any(
            getattr(args, name) is not None
            for name in ("cells", "multipliers", "shaper", "quartic", "moments"))):
        raise UserError("the echo design has no array or coupler: --lanes, --inputs, "
                        "--max-k, --cells, --multipliers, --shaper, --quartic and --moments "
                        "size the SoC (--design soc); only --clock-mhz applies to it")
    board = get_board(args.board)
    if args.clock_mhz is not None:
        try:
            board.pll_for(args.clock_mhz * 1e6)
        except ValueError as error:
            raise UserError(f"--clock-mhz {args.clock_mhz:g}: {error}") from None
    report = build_soc(board, design, build_dir=args.build_dir,
                       config=_soc_config(board.soc, args), progress=_say(args))
    return _finish(report, board, args)


def _soc_config(board_config, args):
    """The board's SocConfig with the sizes given on the command line (SocConfig checks
    them); None when none is given."""
    changes = {}
    if _array_options(args):
        changes["array"] = _array_shape(board_config.array, args)
    for name in ("cells", "multipliers", "shaper"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if args.quartic is not None:
        changes["quartic"] = args.quartic == "on"
    if args.moments is not None:
        changes["moments"] = args.moments == "on"
    if args.clock_mhz is not None:
        changes["clock_hz"] = args.clock_mhz * 1e6
    try:
        return board_config.with_(**changes) if changes else None
    except ValueError as error:
        hint = ("; build it with --moments off (the board's SoC has them)"
                if "with moments" in str(error) and args.moments is None else "")
        raise UserError(option_names(str(error), _OPTIONS) + hint) from None


#: The options that set each size, for messages.
_OPTIONS = {"lanes": "--lanes", "inputs": "--inputs", "max_k": "--max-k", "cells": "--cells",
            "multipliers": "--multipliers", "shaper": "--shaper"}


def register(sub) -> None:
    """Add the command's parser to `sub`."""
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
    p.add_argument("--quartic", choices=("on", "off"),
                   help="SoC: build the coupler's quartic pre-pass (default: the board's)")
    p.add_argument("--moments", choices=("on", "off"),
                   help="SoC: accumulate the coupler's block moments on chip (default: the "
                        "board's; at most 125 cells)")
    p.add_argument("--clock-mhz", type=float,
                   help="SoC: the design clock in MHz (the board clock needs no PLL; "
                        "another must be exact from it)")
    add_json_option(p)
    p.set_defaults(func=run)

