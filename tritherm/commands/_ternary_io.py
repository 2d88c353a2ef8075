"""Ternary matrix products from the command line: the array shape options, the inputs, the report."""

from __future__ import annotations

from tritherm.commands._files import load_int_array
from tritherm.commands._output import waveform_hint
from tritherm.errors import UserError


def array_shape(args):
    from tritherm.formats import TernaryArrayShape
    return TernaryArrayShape(args.lanes, args.inputs, args.max_k)


def add_shape_options(parser, lanes=4, inputs=5, max_k=80):
    parser.add_argument("--lanes", type=int, default=lanes, help="output neurons in parallel")
    parser.add_argument("--inputs", type=int, default=inputs,
                        help="activations per cycle (multiples of 5 waste no weight bits)")
    parser.add_argument("--max-k", type=int, default=max_k, help="longest dot product")


def ternary_inputs(args):
    from tritherm.sim.golden import check_int8, check_ternary
    weights = check_ternary(load_int_array(args.weights, "weights"))
    activations = check_int8(load_int_array(args.activations, "activations"))
    if weights.ndim != 2:
        raise UserError(f"weights must be an N x K matrix, got shape {weights.shape}")
    if activations.ndim not in (1, 2):
        raise UserError(f"activations must have shape (K,) or (B, K), got {activations.shape}")
    if activations.shape[-1] != weights.shape[1]:
        raise UserError(f"activations have K = {activations.shape[-1]} but weights have "
                        f"K = {weights.shape[1]}")
    return weights, activations


def matrix_report(run, args) -> int:
    import numpy as np
    vcd = getattr(args, "vcd", None)
    np.save(args.out, run.result.astype(np.int32))
    print(f"{run.tiles} tiles; results written to {args.out}"
          + (f"; waveform in {vcd}" if vcd else ""))
    if vcd:
        print(waveform_hint(vcd))
    if run.mismatch:
        print(f"FAIL: first mismatch at {run.mismatch}")
        return 1
    print(f"PASS: all {run.result.size} outputs equal the golden model")
    return 0


def matvec_on_device(device, weights, activations, args) -> int:
    shape = device.identity.array
    print(f"running {weights.shape[0]}x{weights.shape[1]} ternary weights x "
          f"{activations.shape} int8 activations on {device.transport.description}, "
          f"array {shape}", flush=True)
    return matrix_report(device.matmul(weights, activations), args)
