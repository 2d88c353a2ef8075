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
        message = message.strip().rstrip(".")
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} "
                                  f"(see `{self.prog} --help`).\n")


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
                   DeviceError)
    # A file the system refuses (missing, a directory, no permission, no space left): the
    # user's to fix, said in one sentence.
    return isinstance(error, user_errors) or (isinstance(error, OSError)
                                              and bool(error.strerror))


def _sentence_text(text: str) -> str:
    text = " ".join(text.split())           # one line, whatever the message held
    return text if text.endswith(".") else text + "."


def _sentence(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror.lower() + (f": {error.filename}" if error.filename else "")
    return _sentence_text(text)


if __name__ == "__main__":
    sys.exit(main())
