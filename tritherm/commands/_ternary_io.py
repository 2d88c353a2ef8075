"""Ternary matrix products from the command line: the array shape options, the inputs, the report."""

from __future__ import annotations

from tritherm.commands._files import load_int_array
from tritherm.commands._output import waveform_hint
from tritherm.commands._values import option_names
from tritherm.errors import UserError
from tritherm.files import output_path, save_array

#: The array's size when --lanes, --inputs and --max-k are not given.
SHAPE_DEFAULTS = {"lanes": 4, "inputs": 5, "max_k": 80}
SHAPE_OPTIONS = {"lanes": "--lanes", "inputs": "--inputs", "max_k": "--max-k"}
#: Longest K whose every result fits the int32 results file: |w x| <= 128 per product.
MAX_K_INT32 = (2 ** 31 - 1) // 128


def array_shape(args):
    """The TernaryArrayShape of --lanes, --inputs and --max-k (the defaults where not
    given); UserError naming the option when one is out of range."""
    from tritherm.formats import TernaryArrayShape
    sizes = {name: SHAPE_DEFAULTS[name] if getattr(args, name) is None else getattr(args, name)
             for name in SHAPE_DEFAULTS}
    try:
        return TernaryArrayShape(**sizes)
    except ValueError as error:
        raise UserError(option_names(str(error), SHAPE_OPTIONS)) from None


def shape_options_given(args) -> list[str]:
    """The shape options given on the command line, as typed."""
    return [option for name, option in SHAPE_OPTIONS.items() if getattr(args, name) is not None]


def add_shape_options(parser, lanes=SHAPE_DEFAULTS["lanes"], inputs=SHAPE_DEFAULTS["inputs"],
                      max_k=SHAPE_DEFAULTS["max_k"]):
    parser.add_argument("--lanes", type=int, help=f"output neurons in parallel (default {lanes})")
    parser.add_argument("--inputs", type=int,
                        help=f"activations per cycle (multiples of 5 waste no weight bits; "
                             f"default {inputs})")
    parser.add_argument("--max-k", type=int, help=f"longest dot product (default {max_k})")


def ternary_inputs(args):
    """--weights and --activations, checked (values, shapes, and a K whose results fit
    int32)."""
    from tritherm.sim.golden import check_int8, check_ternary
    weights = check_ternary(load_int_array(args.weights, "weights"))
    activations = check_int8(load_int_array(args.activations, "activations"))
    if weights.ndim != 2:
        raise UserError(f"weights must be an N x K matrix, got shape {weights.shape}")
    if activations.ndim not in (1, 2):
        raise UserError(f"activations must have shape (K,) or (B, K), got {activations.shape}")
    if weights.size == 0:
        raise UserError(f"the weights in {args.weights} are empty (shape {weights.shape})")
    if activations.size == 0:
        raise UserError(f"the activations in {args.activations} are empty (shape "
                        f"{activations.shape})")
    if activations.shape[-1] != weights.shape[1]:
        raise UserError(f"activations have K = {activations.shape[-1]} but weights have "
                        f"K = {weights.shape[1]}")
    if weights.shape[1] > MAX_K_INT32:
        raise UserError(f"K = {weights.shape[1]} is too long for the int32 results: K must "
                        f"be at most {MAX_K_INT32} (128 K < 2**31)")
    return weights, activations


def ternary_out(args):
    """--out checked before any work: a .npy file that can be written."""
    return output_path(args.out, "--out file", (".npy",))


def matrix_report(run, args, out) -> int:
    import numpy as np
    vcd = getattr(args, "vcd", None)
    result = np.asarray(run.result)
    if result.size and (result.min() < -2 ** 31 or result.max() >= 2 ** 31):
        raise UserError("a result does not fit int32; nothing was written")
    save_array(out, result.astype(np.int32), "--out file")
    print(f"{run.tiles} tiles; results written to {out}"
          + (f"; waveform in {vcd}" if vcd else ""))
    if vcd:
        print(waveform_hint(vcd))
    if run.mismatch:
        print(f"FAIL: first mismatch at {run.mismatch}")
        return 1
    print(f"PASS: all {run.result.size} outputs equal the golden model")
    return 0


def matvec_on_device(device, weights, activations, args, out) -> int:
    shape = device.identity.array
    print(f"running {weights.shape[0]}x{weights.shape[1]} ternary weights x "
          f"{activations.shape} int8 activations on {device.transport.description}, "
          f"array {shape}", flush=True)
    return matrix_report(device.matmul(weights, activations), args, out)
