"""Command line: one sub-command per module, each with ``add_arguments`` and ``run``."""

import argparse
from collections.abc import Callable, Sequence
import importlib
from typing import Protocol


class _Command(Protocol):
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# sub-command name -> (module, help); modules are imported lazily so that `rate` does not
# pay for the web server's imports.
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("tenant_ledger.server", "run the ledger service (default)"),
    "rate": ("tenant_ledger.rate_cli", "rate register readings offline against a tariff"),
    "verify": ("tenant_ledger.verify", "re-check the journal's hash chain and invariants"),
}


def _load(module_name: str) -> _Command:
    module: _Command = importlib.import_module(module_name)
    return module


def main(argv: Sequence[str]) -> int:
    """Parse ``argv`` and run the chosen sub-command; ``serve`` when none is given."""
    args_list = list(argv)
    if not args_list or (args_list[0].startswith("-") and args_list[0] not in ("-h", "--help")):
        args_list.insert(0, "serve")
    parser = argparse.ArgumentParser(prog="python -m tenant_ledger")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        if args_list and args_list[0] == name:
            command = _load(module_name)
            command.add_arguments(sub.add_parser(name, help=help_text))
        else:
            sub.add_parser(name, help=help_text)
    args = parser.parse_args(args_list)
    return _load(COMMANDS[args.command][0]).run(args)
