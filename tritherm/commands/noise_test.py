"""``tritherm noise-test``."""

from __future__ import annotations

import sys

from tritherm.commands._output import add_json_option, print_json, table
from tritherm.commands._values import (
    parse_count,
    parse_rounds,
    parse_seed,
    parse_streams,
)
from tritherm.errors import UserError
from tritherm.progress import enabled, items, stage


def run(args) -> int:
    if args.gaussian:
        return _noise_test_gaussian(args)
    return _noise_test_dieharder(args)


def _progress(line: str) -> None:
    """The battery's stage lines: shown beside the progress bar, when there is one."""
    if enabled():
        print(f"noise-test: {line}", file=sys.stderr, flush=True)


def _noise_test_gaussian(args) -> int:
    ignored = [option for option, value in (("--quick", args.quick), ("--full", args.full),
                                            ("--test", args.test),
                                            ("--psamples", args.psamples)) if value]
    if ignored:
        raise UserError(f"{', '.join(ignored)} {'are' if len(ignored) > 1 else 'is'} "
                        f"dieharder's; --gaussian takes --samples, --streams, --seed, --rounds")
    streams = parse_streams(args.streams if args.streams is not None else "8", low=2, high=1024)
    n = parse_count(args.samples if args.samples is not None else "1000000", "samples",
                    high=MAX_GAUSSIAN_VALUES // streams,
                    why=f"for {streams} streams: every sample is kept in memory")
    if n < 100:
        raise UserError(f"--samples must be at least 100, got {n}")
    return gaussian_battery_report(parse_seed(args.seed), n, streams, parse_rounds(args.rounds),
                                   as_json=args.json)


def gaussian_battery_report(seed: int, n: int, streams: int, rounds: int,
                            as_json: bool = False) -> int:
    """Run the Gaussian battery and print its table (or JSON); 1 if a counter-based
    source fails its independence checks."""
    import dataclasses

    from tritherm.sim.noise_stats import FAMILY_FALSE_ALARM, gaussian_battery
    with stage(f"Gaussian statistics of {streams} x {n} samples per source"):
        reports = gaussian_battery(seed, n, streams, rounds=rounds, progress=_progress)
    threefry_ok = all(r.independent for r in reports if not r.source.startswith("lfsr"))
    if as_json:
        print_json({"test": "gaussian", "seed": seed, "samples": n, "streams": streams,
                    "rounds": rounds, "passed": threefry_ok,
                    "sources": [{**dataclasses.asdict(r), "independent": r.independent}
                                for r in reports]})
        return 0 if threefry_ok else 1
    auto, cross = reports[0].autocorrelation.bound, reports[0].cross_correlation.bound
    print(f"Gaussian noise, {n} samples per stream, seed {seed}; units: the target sigma "
          f"(raw / 4096).\nExpected values are exact (enumerated law of the shaper); +- is "
          f"one standard error; independence bounds z/sqrt(n) = {auto:.2e} (lags), "
          f"{cross:.2e} (pairs): independent streams fail a family with probability "
          f"{FAMILY_FALSE_ALARM:g}.")
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
    print(table(("source", "statistic", "measured", "expected", "check"), rows))
    print("\nsources: " + "; ".join(f"{r.source} = {r.description}" for r in reports))
    print("independence: " + ("PASS" if threefry_ok else "FAIL") + " for the counter-based "
          "streams" + "".join(f"; {r.source}: {'PASS' if r.independent else 'FAIL'}"
                              for r in reports if r.source.startswith("lfsr")))
    return 0 if threefry_ok else 1


def _noise_test_dieharder(args) -> int:
    from tritherm.sim.noise_stats import QUICK_TESTS, DieharderMissing, run_dieharder
    if args.quick and args.full:
        raise UserError("choose one of --quick and --full")
    if args.test and (args.quick or args.full):
        raise UserError(f"--test chooses the tests itself; leave out "
                        f"{'--quick' if args.quick else '--full'}")
    if args.samples is not None:
        raise UserError("--samples is for --gaussian; dieharder takes --psamples")
    seed = parse_seed(args.seed)
    streams = parse_streams(args.streams if args.streams is not None else "1")
    psamples = parse_count(args.psamples, "psamples", required=False)
    if args.test:
        tests = [_test_number(t) for t in args.test]
    elif args.full:
        tests = [None]
    else:
        tests = [number for number, _ in QUICK_TESTS]
    advance = items("dieharder", None if tests == [None] else len(tests))
    try:
        rows, seconds = run_dieharder(tests, seed, streams, parse_rounds(args.rounds), psamples,
                                      progress=_progress,
                                      row=lambda r: advance(f"{r.test}: {r.assessment}"))
    except DieharderMissing as error:
        raise UserError(str(error)) from None
    except RuntimeError as error:
        raise UserError(str(error)) from None
    finally:
        advance.close()
    from tritherm.sim.noise_stats import final_results
    final = final_results(rows)
    reruns = len(rows) - len(final)
    counts = {v: sum(r.assessment == v for r in final) for v in ("PASSED", "WEAK", "FAILED")}
    if args.json:
        print_json({"test": "dieharder", "seed": seed, "streams": streams,
                    "rounds": parse_rounds(args.rounds), "seconds": seconds,
                    "passed": counts["PASSED"], "weak": counts["WEAK"],
                    "failed": counts["FAILED"], "reruns": reruns,
                    "tests": [{"test": r.test, "ntup": r.ntup, "tsamples": r.tsamples,
                               "psamples": r.psamples, "p_value": r.p_value,
                               "assessment": r.assessment} for r in final]})
        return 1 if counts["FAILED"] else 0
    print(f"dieharder -Y 1 on `tritherm noise --seed {seed} --streams {streams} --format raw` "
          f"(Threefry-2x32-{parse_rounds(args.rounds)} uniform words), {seconds:.0f} s")
    print(table(("test", "ntup", "tsamples", "psamples", "p-value", "assessment"),
                 [(r.test, r.ntup, r.tsamples, r.psamples, f"{r.p_value:.8f}", r.assessment)
                  for r in final]))
    print(f"{counts['PASSED']} passed, {counts['WEAK']} weak, {counts['FAILED']} failed"
          + (f"; {reruns} WEAK result(s) (p < 0.005 or > 0.995, about 1 test in 100 by chance)"
             " re-run with more p-values" if reruns else ""))
    return 1 if counts["FAILED"] else 0


def _test_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value not in DIEHARDER_TESTS:
        raise UserError(f"--test takes a dieharder test number (0-17, 100-102, 200-209; see "
                        f"`dieharder -l`), got {text!r}")
    return value


#: The test numbers of dieharder 3.31 (`dieharder -l`).
DIEHARDER_TESTS = frozenset([*range(18), *range(100, 103), *range(200, 210)])
#: Most samples x streams the Gaussian battery keeps in memory (int64, and copies).
MAX_GAUSSIAN_VALUES = 2 ** 27


def register(sub) -> None:
    """Add the command's parser to `sub`."""
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
    add_json_option(p)
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
    p.set_defaults(func=run)

