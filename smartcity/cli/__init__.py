"""The `smartcity` command: one sub-command per job, each a small handler with --help.

The commands are declared in the modules beside this one; this module gathers them into
one click group, and turns the errors a user can meet into one line that says what to do.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import SimpleNamespace

import click
from click.core import ParameterSource

from smartcity.cli import (
    aws_commands,
    bi_commands,
    dashboard_commands,
    dbt_commands,
    dist_commands,
    docs_commands,
    lake_commands,
    pipeline_commands,
    service_commands,
)
from smartcity.console import fail
from smartcity.settings import ENVIRONMENT


class _Group(click.Group):
    """Lists its commands in the order they are declared, then the environment."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Environment variables (all optional)"):
            formatter.write_dl(list(ENVIRONMENT.items()))


cli = _Group(
    "smartcity",
    help="Smart City data platform: simulate, produce, land and model city sensor events.",
    commands=[
        *pipeline_commands.COMMANDS,
        *lake_commands.COMMANDS,
        *aws_commands.COMMANDS,
        *service_commands.COMMANDS,
        *dbt_commands.COMMANDS,
        *docs_commands.COMMANDS,
        *dashboard_commands.COMMANDS,
        *bi_commands.COMMANDS,
        *dist_commands.COMMANDS,
    ],
    # As wide as the terminal up to 100 columns, the width of the code and the docs.
    context_settings={
        "help_option_names": ["-h", "--help"],
        "show_default": True,
        "max_content_width": 100,
    },
)


def parse(argv: Sequence[str]) -> SimpleNamespace:
    """The values `smartcity <argv>` would hand its command's handler (the flags given,
    else the environment's variables, else the defaults), without running it; a value
    the command would refuse raises its click.BadParameter."""
    name, *rest = argv
    return SimpleNamespace(**cli.commands[name].make_context(name, rest).params)


def _set_in_environment(error: click.UsageError) -> str | None:
    """The one line for a value the environment gave an option and its type refused: the
    command line is not at fault, so no usage is shown."""
    if not isinstance(error, click.BadParameter) or error.ctx is None:
        return None
    option = error.param
    if not isinstance(option, click.Option) or not isinstance(option.envvar, str):
        return None
    if error.ctx.get_parameter_source(option.name or "") is not ParameterSource.ENVIRONMENT:
        return None
    text = os.environ.get(option.envvar)
    return f"{option.envvar}={text!r} is not a valid value for {option.opts[0]}: {error.message}"


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return int(cli.main(argv, prog_name="smartcity", standalone_mode=False))
    except click.UsageError as error:
        message = _set_in_environment(error)
        if message is None:
            error.show()
        else:
            fail(message)
        return error.exit_code
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.Abort:  # Ctrl-C before a command started (the commands say it themselves)
        fail("interrupted")
        return 130
