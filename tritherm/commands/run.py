"""``tritherm run``."""

from __future__ import annotations

import argparse

from tritherm.commands._device import add_device_options, device_board, open_device
from tritherm.commands._files import check_linalg_problem, linalg_inputs
from tritherm.commands._output import add_json_option, print_json, step_progress, table
from tritherm.commands._ternary_io import matvec_on_device, ternary_inputs, ternary_out
from tritherm.commands._values import parse_count, parse_seed
from tritherm.files import output_path, save_array

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


def run(args) -> int:
    actions = {"identify": _run_identify, "flags": _run_flags, "noise": _run_noise,
               "matvec": _run_matvec, "sample": _run_sample}
    # Everything the action takes is checked before the device is opened (opening --port
    # sim builds the simulated SoC first).
    device_board(args)
    inputs = {"noise": _noise_inputs, "matvec": _matvec_inputs,
              "sample": _sample_inputs}.get(args.action, lambda args: ())(args)
    with open_device(args) as device:
        return actions[args.action](device, args, *inputs)


#: Most beats `run noise` reads (each a sample per cell, printed as a line).
MAX_BEATS = 2 ** 20


def _noise_inputs(args):
    beats = parse_count(args.beats, "beats", high=MAX_BEATS,
                        why="for more noise use `tritherm noise`, the same generator")
    return beats, None if args.seed is None else parse_seed(args.seed)


def _matvec_inputs(args):
    out = ternary_out(args)
    return (out, *ternary_inputs(args))


def _sample_inputs(args):
    out = output_path(args.out, "--out file", (".npy",)) if args.out is not None else None
    samples, seed, A, b = linalg_inputs(args)
    check_linalg_problem(args, A, b, "sample", seed, samples)
    return out, samples, seed, A, b


def _run_identify(device, args) -> int:
    identity = device.identity
    if args.json:
        a = identity.array
        width, fraction, coef, mult = identity.coupler_format
        print_json({"device": device.transport.description, "version": identity.version,
                    "clock_hz": identity.clock_hz, "baud": identity.baud,
                    "array": {"lanes": a.lanes, "inputs": a.inputs, "max_k": a.capacity,
                              "acc_width": identity.acc_width},
                    "coupler": {"cells": identity.cells, "multipliers": identity.multipliers,
                                "shaper": identity.shaper},
                    "coupler_format": {"state_width": width, "state_fraction": fraction,
                                       "coef_fraction": coef, "mult_fraction": mult},
                    "max_payload": identity.max_payload})
        return 0
    print(f"{device.transport.description}: tritherm SoC")
    print(table(("register", "value"), identity.rows()))
    return 0


def _run_flags(device, args) -> int:
    report = device.flags(clear=args.clear)
    if args.json:
        print_json({"flags": list(report.flags), "saturated": list(report.saturated),
                    "running": report.running, "step": report.step, "raw": report.raw,
                    "counters": dict(report.counters), "cleared": bool(args.clear)})
        return 0
    print(table(("flag", "value"), report.rows()))
    if args.clear:
        print("cleared the flags and counters shown")
    return 0


def _run_noise(device, args, beats, seed) -> int:
    from tritherm.formats import (
        COUPLER_REG_SEED,
        COUPLER_REGION_SCALAR,
        NOISE_FORMAT,
        coupler_address,
    )
    if seed is not None:
        device.configure_coupler([(coupler_address(COUPLER_REGION_SCALAR, COUPLER_REG_SEED),
                                   seed)])
    values = device.noise(beats)
    for row in values:
        print(" ".join(f"{v:6d}" for v in row))
    sigmas = values / NOISE_FORMAT.one
    print(f"{values.size} samples ({beats} beats x {values.shape[1]} cells, "
          f"{NOISE_FORMAT.one} = one sigma): mean {sigmas.mean():+.3f}, "
          f"sd {sigmas.std():.3f} sigma")
    return 0


def _run_matvec(device, args, out, weights, activations) -> int:
    return matvec_on_device(device, weights, activations, args, out)


def _run_sample(device, args, out, samples, seed, A, b) -> int:
    import numpy as np

    from tritherm.sim import linalg
    result = linalg.sample(A, samples, b, backend="board", device=device, seed=seed,
                           progress=step_progress("sample"))
    golden = linalg.sample(A, samples, b, backend="golden", seed=seed)
    if out is not None:
        save_array(out, result.estimate, "--out file")
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


def register(sub) -> None:
    """Add the command's parser to `sub`."""
    p = sub.add_parser("run", help="drive a SoC on a board (or simulated): identify, flags, "
                                   "noise, matvec, sample",
                       description=RUN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_device_options(p, required=True)
    run_sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = run_sub.add_parser("identify", help="the identity registers")
    add_json_option(q)
    q = run_sub.add_parser("flags", help="sticky flags, saturated cells, error counters")
    add_json_option(q)
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
    p.set_defaults(func=run)

