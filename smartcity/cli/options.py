"""How a command and its options are declared, on click.

An option that an environment variable sets is built from the variable's declaration in
foundation/environment.py, its default and type included, and click shows the default
and the variable in `--help`: the help, the parser and the code that runs never
disagree. `command` gives every handler what each command does around it: the project
check, the settings, and the errors a user can meet said in one line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import click

from foundation.environment import VARIABLES
from smartcity.cli.errors import explain
from smartcity.console import fail
from smartcity.settings import PROJECT_ROOT, Settings, project_found

# A command's work: the values of its options, by name, and the settings.
Handler = Callable[[SimpleNamespace, Settings], int]


def variable_option(flag: str, *, variable: str, help: str) -> click.Option:
    """The option ``flag`` that ``variable`` sets when the flag is not given, with the
    variable's default and type (foundation/environment.py)."""
    declared = VARIABLES[variable]
    return click.Option(
        [flag],
        envvar=variable,
        show_envvar=True,
        default=None if declared.default is None else declared.kind(declared.default),
        type=declared.kind,
        help=help,
    )


def command(
    name: str,
    short_help: str,
    help: str,
    handler: Handler,
    params: Sequence[click.Parameter] = (),
    # Reads the repository's files (dbt project, jar locks), not only the environment.
    needs_project: bool = True,
    **attributes: Any,
) -> click.Command:
    """The sub-command ``name`` (``short_help`` in the list of commands, ``help`` in its
    own): ``handler`` run on the values of ``params``, with the errors a user can meet
    said in one line (smartcity/cli/errors.py)."""

    def run(**values: Any) -> int:
        if needs_project and not project_found():
            fail(
                f"`smartcity {name}` works on the project's files (dbt_project.yml, the "
                f"jar locks) and found none in {PROJECT_ROOT} or above: run it in the "
                "repository, or set SMARTCITY_PROJECT_DIR to it"
            )
            return 2
        try:
            return handler(SimpleNamespace(**values), Settings.from_env())
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

    return click.Command(
        name, callback=run, params=list(params), short_help=short_help, help=help, **attributes
    )
