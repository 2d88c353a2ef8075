"""The ``tritherm`` command: assembles the commands of `tritherm.commands` and turns the
errors a user can cause into one sentence and an exit status (`tritherm.errors`)."""

from __future__ import annotations

import argparse
import sys

from tritherm import __version__, toolchain
from tritherm.commands import command_modules
from tritherm.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, UserError

__all__ = ["main", "build_parser", "UserError"]


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors as one sentence and exit status 2."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {_sentence_text(message)}\n"
                                  f"(see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tritherm", description="Frugal AI hardware on open FPGAs: ternary "
                                                   "MAC array and thermodynamic coupler.")
    parser.add_argument("--version", action="version", version=f"tritherm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)
    for module in command_modules():
        module.register(sub)
    return parser


def main(argv=None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        toolchain.setup()
        return args.func(args)
    except KeyboardInterrupt:
        print("tritherm: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the one place errors become sentences
        if not _is_user_error(error):
            raise
        print(f"tritherm: error: {_sentence(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _is_user_error(error: Exception) -> bool:
    from tritherm.boards.build import BuildError
    from tritherm.firmware.transport import DeviceError
    from tritherm.sim.verify.rtl import CocotbFailure
    user_errors = (UserError, ValueError, toolchain.ToolMissing, CocotbFailure, BuildError,
                   DeviceError, FileNotFoundError, PermissionError, IsADirectoryError)
    return isinstance(error, user_errors)


def _sentence_text(text: str) -> str:
    text = text.strip()
    return text if text.endswith(".") else text + "."


def _sentence(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    if isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError)) \
            and error.filename:
        text = f"{error.strerror.lower()}: {error.filename}"
    return _sentence_text(text)


if __name__ == "__main__":
    sys.exit(main())
