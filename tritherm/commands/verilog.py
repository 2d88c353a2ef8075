"""``tritherm verilog``."""

from __future__ import annotations

from pathlib import Path

from tritherm.commands._ternary_io import add_shape_options, array_shape


def run(args) -> int:
    from amaranth.back import verilog

    from tritherm.hdl.ternary import TernaryArray
    text = verilog.convert(TernaryArray(array_shape(args)), name=args.name, emit_src=False)
    Path(args.output).write_text(text)
    print(f"wrote {args.output}: module {args.name}, {array_shape(args)}")
    return 0


def register(sub) -> None:
    """Add the command's parser to `sub`."""
    p = sub.add_parser("verilog", help="write a core as Verilog")
    p.add_argument("core", choices=["ternary"])
    add_shape_options(p)
    p.add_argument("-o", "--output", required=True, help="Verilog file to write")
    p.add_argument("--name", default="ternary_array", help="top module name")
    p.set_defaults(func=run)

