import subprocess
import sys

import click
import pytest

from smartcity.local_stack.kafka_broker import free_port


def run(*arguments: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartcity", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_help_lists_every_command_and_the_environment() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("demo", "produce", "land", "kafka", "jars", "dbt-sources"):
        assert command in result.stdout
    assert "KAFKA_BOOTSTRAP_SERVERS" in result.stdout


def test_produce_without_a_broker_fails_with_one_line_that_says_what_to_do() -> None:
    import os

    port = free_port()
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}"}
    result = run("produce", "--events", "10", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: Kafka is not reachable at 127.0.0.1:{port}: start the local broker with "
        "`smartcity kafka start` (or run `make demo`, which starts one), or point "
        "KAFKA_BOOTSTRAP_SERVERS at a running broker."
    ]


def variable_options() -> list[click.Option]:
    """Every option of every command that an environment variable sets."""
    from smartcity.cli import cli

    return [
        option
        for command in cli.commands.values()
        for option in command.params
        if isinstance(option, click.Option) and option.envvar
    ]


def test_every_setting_and_option_variable_is_in_the_settings_doc() -> None:
    from smartcity.settings import PROJECT_ROOT, VARIABLES

    readme = (PROJECT_ROOT / "docs" / "running.md").read_text()
    named = set(VARIABLES) | {str(option.envvar) for option in variable_options()}

    def listed(name: str) -> bool:
        # The table groups a family on one row: `SMARTCITY_POSTGRES_HOST`, `_PORT`, ...
        parts = name.split("_")
        splits = [("_".join(parts[:i]), "_".join(parts[i:])) for i in range(2, len(parts))]
        return f"`{name}`" in readme or any(
            f"`{family}_" in line and f"`_{member}`" in line
            for line in readme.splitlines()
            for family, member in splits
        )

    assert [name for name in sorted(named) if not listed(name)] == []


def test_an_option_takes_its_default_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from smartcity.cli import parse

    monkeypatch.delenv("SMARTCITY_COMPACTION_GRACE_MINUTES", raising=False)
    assert parse(["compact"]).grace_minutes == 60
    monkeypatch.setenv("SMARTCITY_COMPACTION_GRACE_MINUTES", "15")
    assert parse(["compact"]).grace_minutes == 15
    assert parse(["compact", "--grace-minutes", "5"]).grace_minutes == 5


def test_a_commands_help_shows_each_options_default_and_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from smartcity.cli import main

    # Wide enough that no variable's name is cut, as on a narrow terminal it may be.
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("SMARTCITY_COMPACTION_GRACE_MINUTES", raising=False)
    assert main(["compact", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "[env var: SMARTCITY_COMPACTION_GRACE_MINUTES; default: 60]" in shown
    assert "[env var: SMARTCITY_COMPACTION_KEEP_SUPERSEDED_MINUTES; default: 120]" in shown
    assert main(["demo", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    for option in ("--events", "--rate", "--seed", "--vehicles", "--start-at", "--gps-every"):
        assert option in shown
    assert "--malformed-share SHARE" in shown and "[default: 0.005]" in shown


def test_a_value_the_environment_gives_that_an_option_refuses_names_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from smartcity.cli import main, parse

    monkeypatch.setenv("SMARTCITY_DASHBOARD_PORT", "abc")
    with pytest.raises(click.BadParameter):
        parse(["dashboard"])
    # Refused before the command starts, in one line, with exit code 2 as a usage error.
    assert main(["dashboard"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: SMARTCITY_DASHBOARD_PORT='abc' is not a valid value for --port: 'abc' is not "
        "a valid integer."
    ]
    # Only the command that reads it: another command, and the help, still work.
    assert main(["--help"]) == 0
    assert parse(["compact"]).dry_run is False


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from smartcity.cli import main

    assert main(["nosuchcommand"]) == 2
    assert "No such command 'nosuchcommand'" in capsys.readouterr().err
    assert main([]) == 2
