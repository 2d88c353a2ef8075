"""``tritherm verilog``."""

from __future__ import annotations

import re

from tritherm.commands._ternary_io import add_shape_options, array_shape
from tritherm.errors import UserError
from tritherm.files import atomic_output, output_path

#: The reserved words of Verilog (IEEE 1364-2005), which cannot name a module.
VERILOG_KEYWORDS = frozenset([
    "always", "and", "assign", "automatic", "begin", "buf", "bufif0", "bufif1", "case",
    "casex", "casez", "cell", "cmos", "config", "deassign", "default", "defparam",
    "design", "disable", "edge", "else", "end", "endcase", "endconfig", "endfunction",
    "endgenerate", "endmodule", "endprimitive", "endspecify", "endtable", "endtask",
    "event", "for", "force", "forever", "fork", "function", "generate", "genvar",
    "highz0", "highz1", "if", "ifnone", "incdir", "include", "initial", "inout", "input",
    "instance", "integer", "join", "large", "liblist", "library", "localparam",
    "macromodule", "medium", "module", "nand", "negedge", "nmos", "nor",
    "noshowcancelled", "not", "notif0", "notif1", "or", "output", "parameter", "pmos",
    "posedge", "primitive", "pull0", "pull1", "pulldown", "pullup", "pulsestyle_ondetect",
    "pulsestyle_onevent", "rcmos", "real", "realtime", "reg", "release", "repeat",
    "rnmos", "rpmos", "rtran", "rtranif0", "rtranif1", "scalared", "showcancelled",
    "signed", "small", "specify", "specparam", "strong0", "strong1", "supply0", "supply1",
    "table", "task", "time", "tran", "tranif0", "tranif1", "tri", "tri0", "tri1",
    "triand", "trior", "trireg", "unsigned", "use", "uwire", "vectored", "wait", "wand",
    "weak0", "weak1", "while", "wire", "wor", "xnor", "xor",
])


def run(args) -> int:
    from amaranth.back import verilog

    from tritherm.hdl.ternary import TernaryArray
    out = output_path(args.output, "-o/--output file", (".v", ".sv"))
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", args.name) \
            or args.name in VERILOG_KEYWORDS:
        raise UserError(f"--name must be a Verilog identifier (a letter or _, then letters, "
                        f"digits, _ or $; not a reserved word), got {args.name!r}")
    shape = array_shape(args)
    text = verilog.convert(TernaryArray(shape), name=args.name, emit_src=False)
    with atomic_output(out, "-o/--output file") as handle:
        handle.write(text.encode())
    print(f"wrote {out}: module {args.name}, {shape}")
    return 0


def register(sub) -> None:
    """Add the command's parser to `sub`."""
    p = sub.add_parser("verilog", help="write a core as Verilog")
    p.add_argument("core", choices=["ternary"])
    add_shape_options(p)
    p.add_argument("-o", "--output", required=True, help="Verilog file to write")
    p.add_argument("--name", default="ternary_array", help="top module name")
    p.set_defaults(func=run)

