"""The `smartcity` command: one sub-command per job, each a small handler with --help.

The commands are declared in the modules beside this one; this module builds the parser
from them and turns the errors a user can meet into one line that says what to do.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from smartcity.cli import (
    aws_commands,
    bi_commands,
    dashboard_commands,
    dbt_commands,
    docs_commands,
    lake_commands,
    pipeline_commands,
    service_commands,
)
from smartcity.cli.errors import explain
from smartcity.cli.options import Command
from smartcity.console import fail
from smartcity.settings import ENVIRONMENT, PROJECT_ROOT, Settings, project_found

COMMANDS: tuple[Command, ...] = (
    *pipeline_commands.COMMANDS,
    *lake_commands.COMMANDS,
    *aws_commands.COMMANDS,
    *service_commands.COMMANDS,
    *dbt_commands.COMMANDS,
    *docs_commands.COMMANDS,
    *dashboard_commands.COMMANDS,
    *bi_commands.COMMANDS,
)


def build_parser(environ: dict[str, str] | None = None) -> argparse.ArgumentParser:
    environ = dict(os.environ) if environ is None else environ
    environment = "\n".join(f"  {name:<30}{text}" for name, text in ENVIRONMENT.items())
    parser = argparse.ArgumentParser(
        prog="smartcity",
        description="Smart City data platform: simulate, produce, land and model city sensor events.",
        epilog=f"Environment variables (all optional):\n{environment}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_to(commands, environ)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.needs_project and not project_found():
        fail(
            f"`smartcity {args.command}` works on the project's files (dbt_project.yml, the "
            f"jar locks) and found none in {PROJECT_ROOT} or above: run it in the "
            "repository, or set SMARTCITY_PROJECT_DIR to it"
        )
        return 2
    try:
        settings = Settings.from_env()
        return args.handler(args, settings)
    except KeyboardInterrupt:
        fail("interrupted")
        return 130
    except Exception as error:
        explained = explain(error)
        if explained is None:
            raise
        message, code = explained
        fail(message)
        return code
