"""``tritherm sim``."""

from __future__ import annotations

from tritherm.commands._device import (
    add_device_options,
    no_port_without_board,
    open_device,
)
from tritherm.commands._files import load_array, matrix_errors
from tritherm.commands._output import waveform_hint
from tritherm.commands._ternary_io import (
    add_shape_options,
    array_shape,
    matrix_report,
    matvec_on_device,
    shape_options_given,
    ternary_inputs,
    ternary_out,
)
from tritherm.commands._values import parse_count, parse_seed
from tritherm.errors import UserError
from tritherm.files import output_path, staged_outputs


def cmd_sim_ternary(args) -> int:
    from tritherm.sim.verify.ternary_driver import run_matrix
    if args.backend == "board":
        ignored = shape_options_given(args) + [option for option, value in (
            ("--simulator", args.simulator), ("--vcd", args.vcd)) if value is not None]
        if ignored:
            raise UserError(f"{', '.join(ignored)} {'go' if len(ignored) > 1 else 'goes'} "
                            f"with --backend sim (a board has its own array, and leaves no "
                            f"waveform)")
    else:
        no_port_without_board(args)
    out = ternary_out(args)
    vcd = vcd_path(args.vcd) if args.vcd is not None else None
    if vcd is not None and vcd.parent.resolve() == out.parent.resolve() and vcd.name == out.name:
        raise UserError("--vcd and --out name the same file")
    weights, activations = ternary_inputs(args)
    if args.backend == "board":
        with open_device(args) as device:
            return matvec_on_device(device, weights, activations, args, out)
    shape = array_shape(args)
    simulator = args.simulator or "amaranth"
    print(f"simulating {weights.shape[0]}x{weights.shape[1]} ternary weights x "
          f"{activations.shape} int8 activations on {simulator}, array {shape}",
          flush=True)
    if vcd is None:
        run = run_matrix(weights, activations, shape, simulator)
        return matrix_report(run, args, out)
    with staged_outputs(vcd, what="VCD file") as (staged,):
        run = run_matrix(weights, activations, shape, simulator, vcd=staged)
    return matrix_report(run, args, out)


def vcd_path(text: str):
    """--vcd, checked before any work: a .vcd file that can be written."""
    if not text.lower().endswith(".vcd"):
        raise UserError(f"--vcd must name a .vcd file, got {text!r}")
    return output_path(text, "VCD file", (".vcd",))


def cmd_sim_coupler(args) -> int:
    import math

    import numpy as np

    from tritherm.formats import COUPLER_MAX_CELLS
    from tritherm.sim.coupler_stats import coupler_plan
    from tritherm.sim.verify.coupler_vcd import (
        MAX_STEPS,
        golden_vcd_path,
        run_with_waves,
    )
    from tritherm.sim.verify.coupler_vectors import random_spd
    vcd = vcd_path(args.vcd)
    golden = output_path(str(golden_vcd_path(vcd)), "golden VCD file", (".vcd",))
    steps = parse_count(args.steps, "steps", high=MAX_STEPS,
                        why="the waveform holds every signal of every cycle")
    seed = parse_seed(args.seed)
    cells = parse_count(args.cells, "cells", required=False)
    if args.matrix:
        A = load_array(args.matrix, "matrix")
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise UserError(f"the matrix in {args.matrix} must be square, got shape {A.shape}")
        if cells is not None and cells != A.shape[0]:
            raise UserError(f"--cells {cells} does not match the {A.shape[0]} x "
                            f"{A.shape[1]} matrix in {args.matrix}")
        cells = A.shape[0]
    elif cells is None:
        raise UserError("give the number of cells (--cells N) or a matrix (--matrix A.npy)")
    if not 2 <= cells <= COUPLER_MAX_CELLS:
        raise UserError(f"cells must be an integer in [2, {COUPLER_MAX_CELLS}], got {cells}"
                        + (f" (the matrix in {args.matrix} is {cells} x {cells})"
                           if args.matrix else ""))
    multipliers = parse_count(args.multipliers, "multipliers", required=False) \
        or math.gcd(cells, 4)
    if multipliers & (multipliers - 1) or cells % multipliers:
        raise UserError(f"--multipliers must be a power of two that divides the {cells} "
                        f"cells, got {multipliers}")
    if not args.matrix:
        A = random_spd(np.random.default_rng(seed), cells, 10.0, 1.0)
    with matrix_errors(args.matrix or "the random matrix"):
        program = coupler_plan(A, args.mode, seed, thin=1).program
    print(f"coupler: {cells} cells, {multipliers} multipliers, {args.mode}, {steps} steps on "
          f"{args.simulator}, seed {seed}" + ("" if args.matrix else
                                              " (random A, condition number 10)"), flush=True)
    with staged_outputs(vcd, golden, what="VCD file") as (staged, _):
        run = run_with_waves(program, steps, multipliers, args.simulator, staged)
    print(f"RTL waveform: {vcd}\ngolden model: {golden} (scope golden, timescale "
          f"{run.timescale}, {len(run.golden)} samples at the times the RTL offered them)")
    print(waveform_hint(f"{vcd} {golden}"))
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


def register(sub) -> None:
    """Add the command's parser to `sub`."""
    p = sub.add_parser("sim", help="run your own data through a simulated core")
    sim_sub = p.add_subparsers(dest="core", required=True, metavar="CORE")
    q = sim_sub.add_parser("ternary", help="ternary matrix product W @ x on the array")
    q.add_argument("--weights", required=True, help="N x K .npy of values in {-1, 0, 1}")
    q.add_argument("--activations", required=True, help="K or B x K .npy of int8 values")
    q.add_argument("--simulator", choices=["amaranth", "icarus", "verilator"],
                   help="with --backend sim (default amaranth)")
    q.add_argument("--vcd", help="write the array's waveform to this VCD file")
    q.add_argument("--out", required=True, help=".npy file for the int32 results")
    add_shape_options(q)
    q.add_argument("--backend", choices=["sim", "board"], default="sim",
                   help="sim: --simulator with the shape options; board: the SoC on --port")
    add_device_options(q)
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

