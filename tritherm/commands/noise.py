"""``tritherm noise``."""

from __future__ import annotations

import argparse
import sys

from tritherm.commands._values import (
    parse_count,
    parse_hex_pair,
    parse_rounds,
    parse_seed,
    parse_streams,
)
from tritherm.errors import UserError
from tritherm.files import atomic_output, output_path

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
    rounds = parse_rounds(args.rounds)
    if args.uniform:
        if fmt not in ("hex", "raw"):
            raise UserError("--uniform writes plain Threefry blocks: use --format hex or raw")
        for option, value in (("--seed", args.seed), ("--streams", args.streams),
                              ("--shaper", args.shaper)):
            if value is not None:
                raise UserError(f"{option} has no meaning with --uniform (the key is --key)")
        if args.key is None:
            raise UserError("--uniform needs --key K0:K1 (two hex words)")
        key0, key1 = parse_hex_pair(args.key, "--key")
        c0, c1 = parse_hex_pair("0:0" if args.counter is None else args.counter, "--counter")
        if args.count is None:
            raise UserError("--count is required with --uniform: the number of blocks")
        count = parse_count(args.count)
        chunks = counter_chunks(key0, key1, c0 | c1 << 32, count, rounds)
    else:
        if args.key is not None or args.counter is not None:
            raise UserError("--key and --counter need --uniform")
        seed = parse_seed(args.seed if args.seed is not None else "0")
        streams = parse_streams(args.streams if args.streams is not None else "1")
        shaper = args.shaper or "icdf"
        if shaper not in ("clt", "icdf"):
            raise UserError(f"--shaper must be clt or icdf, got {shaper!r}")
        if fmt in ("raw", "hex"):
            if args.shaper is not None:
                raise UserError(f"--format {fmt} writes the uniform words; --shaper applies "
                                "to --format int and float")
            if args.count is None and (fmt == "hex" or args.out is not None):
                raise UserError(f"--count is required with --format {fmt}"
                                f"{' --out' if fmt == 'raw' else ''} (only --format raw to "
                                f"stdout may run without it, until the reader stops)")
            count = parse_count(args.count, required=False)
            chunks = uniform_chunks(seed, streams, count, rounds)
        else:
            if args.count is None:
                raise UserError(f"--count is required with --format {fmt}: the number of "
                                f"steps (only --format raw to stdout may run without it)")
            chunks = gaussian_chunks(seed, streams, parse_count(args.count), shaper, rounds)
    if fmt == "raw":
        return (chunk.astype("<u4").tobytes() for chunk in chunks)
    return (_noise_text(chunk, fmt) for chunk in chunks)


def run(args) -> int:
    import os
    out = output_path(args.out, "--out file", None) if args.out is not None else None
    chunks = _noise_chunks(args)
    first = next(chunks, b"")       # every value is checked before a file is created
    if out is not None:
        with atomic_output(out, "--out file") as handle:   # complete, or absent
            handle.write(first)
            for chunk in chunks:
                handle.write(chunk)
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


def register(sub) -> None:
    """Add the command's parser to `sub`."""
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
    p.set_defaults(func=run)

