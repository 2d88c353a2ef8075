"""``tritherm linalg``."""

from __future__ import annotations

from tritherm.commands._device import (
    add_device_options,
    no_port_without_board,
    open_device,
)
from tritherm.commands._files import check_linalg_problem, linalg_inputs
from tritherm.commands._output import add_json_option, print_json, step_progress
from tritherm.errors import UserError
from tritherm.files import output_path, save_array


def run(args) -> int:
    from tritherm.sim.linalg import RTL_MAX_SAMPLES
    if args.op == "solve" and args.rhs is None:
        raise UserError("solve needs --rhs b.npy or b.csv")
    if args.op == "inv" and args.rhs is not None:
        raise UserError("inv takes no --rhs")
    if args.backend != "board":
        no_port_without_board(args)
    if args.op == "sample" and args.statistics == "moments":
        raise UserError("sample returns the draws themselves, so it takes no "
                        "--statistics moments")
    out = output_path(args.out, "--out file", (".npy", ".csv")) if args.out is not None else None
    samples, seed, A, b = linalg_inputs(args)
    if args.backend == "rtl" and samples > RTL_MAX_SAMPLES:
        raise UserError(f"--samples must be at most {RTL_MAX_SAMPLES} with --backend rtl (it "
                        f"simulates every clock cycle; --backend golden gives the same "
                        f"samples), got {samples}")
    check_linalg_problem(args, A, b, _KINDS[args.op], seed, samples)
    if args.backend != "board":
        return _linalg(args, A, b, samples, seed, None, out)
    with open_device(args) as device:
        return _linalg(args, A, b, samples, seed, device, out)


_KINDS = {"inv": "inverse", "solve": "solve", "sample": "sample"}


def _linalg(args, A, b, samples, seed, device, out) -> int:
    import numpy as np

    from tritherm.sim import linalg
    kwargs = dict(backend=args.backend, seed=seed, progress=step_progress(args.op),
                  device=device)
    moments = None if args.statistics is None else args.statistics == "moments"
    if args.op == "inv":
        result = linalg.inverse(A, samples, moments=moments, **kwargs)
    elif args.op == "solve":
        result = linalg.solve(A, b, samples, moments=moments, **kwargs)
    else:
        # The compact sample stream (x only) where the SoC has it.
        result = linalg.sample(A, samples, b, compact=device is not None
                               and device.identity.stream, **kwargs)
    estimate = result.estimate
    if out is not None:
        save_array(out, estimate, "--out file")
    relative_se = np.linalg.norm(result.standard_error) / np.linalg.norm(result.exact)
    if args.json:
        print_json({"op": args.op, "estimate_file": str(out) if out else None,
                    "estimate": None if args.op == "sample" else estimate,
                    "relative_error": result.relative_error,
                    "relative_standard_error": relative_se,
                    "samples": result.samples_used, "steps": result.steps,
                    "statistics": "samples" if result.moments is None else "moments",
                    "backend": result.backend, "seconds": result.seconds})
        return 0
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
    print(f"standard error (Frobenius, relative): {relative_se:.3g}")
    compact = result.raw is not None and result.raw.p.shape[1] == 0
    how = (("every sample" + (", x only, over the compact stream" if compact else ""))
           if result.moments is None else
           f"{len(result.moments.counts)} blocks of moments"
           + (" on chip" if args.backend == "board" else ""))
    print(f"{result.samples_used} samples ({how}), {result.steps} steps, backend "
          f"{result.backend}, {result.seconds:.2f} s")
    return 0


def register(sub) -> None:
    """Add the command's parser to `sub`."""
    p = sub.add_parser("linalg", help="thermodynamic linear algebra on the coupler: "
                                      "A^-1, A^-1 b, Gaussian samples")
    p.add_argument("op", choices=["inv", "solve", "sample"])
    p.add_argument("--matrix", required=True, help="symmetric positive definite A (.npy/.csv)")
    p.add_argument("--rhs", help="b (.npy/.csv): required for solve, the mean for sample")
    p.add_argument("--backend", choices=["golden", "rtl", "board"], default="golden")
    p.add_argument("--samples", default="10000", help="samples to average (default 10000)")
    p.add_argument("--seed", default="1", help="noise seed (default 1)")
    p.add_argument("--out", help="write the estimate (or the draws) to this .npy/.csv")
    p.add_argument("--statistics", choices=["moments", "samples"],
                   help="inv/solve: from block moments (batch-means standard errors; on "
                        "chip with --backend board, its default where the SoC has them) "
                        "or from every sample (the default elsewhere)")
    add_json_option(p)
    add_device_options(p)
    p.set_defaults(func=run)

