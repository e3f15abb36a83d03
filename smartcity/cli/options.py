"""How a command and its options are declared: once, with their defaults and env vars.

A command is a small handler plus the options it reads. An option's default, and the
environment variable that can set it, are written in one place and shown in `--help`
from there, so the help, the parser and the code that runs never disagree.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from foundation.environment import VARIABLES
from smartcity.settings import Settings

Handler = Callable[[argparse.Namespace, Settings], int]


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]
    help: str
    default: Any = None
    type: Callable[[str], Any] | None = None
    # The environment variable (foundation/environment.py) that sets this option when the
    # flag is not given; the option's default and type are the variable's.
    variable: str | None = None
    choices: Sequence[str] | None = None
    action: str | None = None
    metavar: str | None = None
    nargs: str | None = None

    def __post_init__(self) -> None:
        if self.variable is not None:
            declared = VARIABLES[self.variable]
            if declared.default is not None:
                object.__setattr__(self, "default", declared.kind(declared.default))
            if self.type is None and declared.kind is not str:
                object.__setattr__(self, "type", declared.kind)

    def default_from(self, environ: dict[str, str]) -> Any:
        if self.variable and self.variable in environ:
            text = environ[self.variable]
            try:
                return self.type(text) if self.type else text
            except ValueError as error:
                raise SystemExit(
                    f"error: {self.variable}={text!r} is not a valid value for "
                    f"{self.flags[0]}: {error}"
                ) from None
        return self.default

    def help_text(self) -> str:
        parts = [self.help]
        shown = self.default not in (None, False) and self.action != "append"
        if shown:
            # Thousands separators for counts, not for ports and minutes.
            large = isinstance(self.default, int) and self.default >= 10_000
            value = f"{self.default:,}" if large else self.default
            parts.append(f"default {value}")
        if self.variable:
            parts.append(f"env {self.variable}")
        return parts[0] if len(parts) == 1 else f"{parts[0]} ({'; '.join(parts[1:])})"

    def add_to(self, parser: argparse.ArgumentParser, environ: dict[str, str]) -> None:
        keywords: dict[str, Any] = {"help": self.help_text()}
        if self.action:
            keywords["action"] = self.action
        if self.nargs:
            keywords["nargs"] = self.nargs
        if self.choices:
            keywords["choices"] = list(self.choices)
        if self.metavar:
            keywords["metavar"] = self.metavar
        if self.type and self.action is None:
            keywords["type"] = self.type
        if self.flags[0].startswith("-"):
            keywords["default"] = self.default_from(environ)
        parser.add_argument(*self.flags, **keywords)


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    description: str
    handler: Handler
    options: tuple[Option, ...] = field(default_factory=tuple)
    # Reads the repository's files (dbt project, jar locks), not only the environment.
    needs_project: bool = True

    def add_to(self, commands: Any, environ: dict[str, str]) -> None:
        parser = commands.add_parser(self.name, help=self.help, description=self.description)
        for option in self.options:
            option.add_to(parser, environ)
        parser.set_defaults(handler=self.handler, needs_project=self.needs_project)
