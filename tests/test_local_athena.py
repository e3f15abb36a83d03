"""The local Athena's translation, as far as it judges a query alone (no server)."""

from __future__ import annotations

import pytest

from tests.local_athena import UnsupportedStatement, translate


def test_two_statements_in_one_query_are_refused_as_athena_refuses_them() -> None:
    with pytest.raises(UnsupportedStatement):
        translate("select 1; select 2", "analytics")


def test_a_semicolon_in_a_comment_or_a_string_separates_nothing() -> None:
    # A model's SQL may carry a comment with a ";" in it: Athena runs it as one statement.
    translate("create view v as\n-- written by a tool; do not edit\nselect ';' as x", "analytics")
