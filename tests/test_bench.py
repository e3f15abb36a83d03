"""The benchmark's bookkeeping: results files, the comparison, the exit status."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import cli
from bench.freshness import percentile, stamped_now
from bench.report import comparison, table
from bench.results import Results
from bench.run import BenchmarkFailed
from bench.warm_readers import ReadersWarmed
from ingestion.simulators.world import SimulationOptions, simulate


def results(**figures: tuple[float | None, bool | None]) -> Results:
    made = Results(conditions={"cores": 2})
    for name, (value, higher) in figures.items():
        made.add(name, value, "unit", higher)
    return made


def test_a_results_file_reads_back_as_written(tmp_path: Path) -> None:
    written = results(events_per_s=(1000.0, True), files=(3.0, None))
    written.write(tmp_path / "r.json")
    read = Results.read(tmp_path / "r.json")
    assert read.conditions == {"cores": 2}
    assert read.figures == written.figures


def test_comparison_gives_ratios_and_says_which_way_a_figure_moved() -> None:
    before = results(events_per_s=(1000.0, True), p95_s=(4.0, False), files=(3.0, None))
    after = results(events_per_s=(500.0, True), p95_s=(2.0, False), files=(6.0, None))
    lines = {line.split()[0]: line for line in comparison(before, after).splitlines()[2:]}
    assert "0.50x" in lines["events_per_s"] and lines["events_per_s"].endswith("worse")
    assert "0.50x" in lines["p95_s"] and lines["p95_s"].endswith("better")
    assert "2.00x" in lines["files"] and not lines["files"].endswith(("better", "worse"))


def test_comparison_shows_figures_only_one_run_has() -> None:
    text = comparison(results(a=(1.0, True)), results(b=(2.0, True)))
    assert "a " in text and "b " in text


def test_table_lists_every_figure() -> None:
    text = table(results(events_per_s=(123456.0, True), p95_s=(None, False)))
    assert "123,456" in text and "p95_s" in text


def test_table_prints_each_goal_beside_its_figure_and_whether_it_was_met() -> None:
    made = Results(conditions={})
    made.add("producer.events_per_s", 120_000.0, "events/s", True)
    made.add("freshness.parquet_p95_s", 14.5, "s", False)
    made.add("freshness.mart_p95_s", None, "s", False)
    lines = {line.split()[0]: line for line in table(made).splitlines()[2:]}
    assert "[goal >= 100,000, " in lines["producer.events_per_s"]
    assert lines["producer.events_per_s"].endswith(": met]")
    assert "[goal <= 10, " in lines["freshness.parquet_p95_s"]
    assert lines["freshness.parquet_p95_s"].endswith(": MISSED]")
    assert lines["freshness.mart_p95_s"].endswith(": not measured]")


def test_a_goal_set_for_a_run_size_is_not_judged_in_a_smaller_run() -> None:
    for events, verdict in ((200_000, "not judged at 200,000 events]"), (10_000_000, "MISSED]")):
        made = Results(conditions={"events": events})
        made.add("dbt.incremental_share_of_full", 18.0, "%", False)
        assert table(made).splitlines()[-1].endswith(verdict)


def test_a_goal_set_for_an_input_rate_is_not_judged_at_another() -> None:
    for rate, verdict in ((5000.0, "not judged at 5,000 events/s]"), (2000.0, "MISSED]")):
        made = Results(conditions={"rate": rate})
        made.add("freshness.parquet_p95_s", 12.0, "s", False)
        assert table(made).splitlines()[-1].endswith(verdict)


def test_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 51.0
    assert percentile(values, 0.95) == 96.0
    assert percentile([], 0.5) is None


def test_events_are_stamped_when_they_are_handed_over() -> None:
    before = datetime.now(UTC)
    stamped = list(stamped_now(simulate(SimulationOptions(events=50))))
    assert all(before <= event["event_at"] <= datetime.now(UTC) for _, event in stamped)


def test_a_run_that_loses_events_exits_non_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    def lossy(*_: object) -> Results:
        raise BenchmarkFailed("landed 9 of 10")

    monkeypatch.setattr(cli, "run", lossy)
    assert cli.main(["run", "--events", "10"]) == 1


def test_landing_fewer_events_than_were_produced_fails_the_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bench import run as bench_run
    from smartcity.settings import Settings

    settings = Settings.from_env({"SMARTCITY_DATA_DIR": str(tmp_path)})
    monkeypatch.setattr(bench_run, "land_in_own_process", lambda _: 1.0)
    monkeypatch.setattr(bench_run.pipeline, "landed_rows", lambda _: {"gps_fixes": 9})
    monkeypatch.setattr(bench_run.pipeline, "dead_lettered_rows", lambda _: {})
    with pytest.raises(BenchmarkFailed, match="landed 9"):
        bench_run._land_ours(settings, 10)


def test_a_failed_delivery_fails_the_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from collections import Counter

    from bench import run as bench_run
    from ingestion.producer import ProduceReport
    from smartcity.settings import Settings

    settings = Settings.from_env({"SMARTCITY_DATA_DIR": str(tmp_path)})
    lost = ProduceReport(acknowledged=Counter({"t": 19}), failed=Counter({"t": 1}))
    monkeypatch.setattr(bench_run, "produce", lambda *_, **__: lost)
    monkeypatch.setattr(bench_run, "ensure_topics", lambda *_, **__: [])
    with pytest.raises(BenchmarkFailed, match="delivery failed"):
        bench_run._producer(
            settings, SimulationOptions(events=20), Results(conditions={}), lambda _: None
        )


def test_the_freshness_events_never_reuse_the_increments_seeds() -> None:
    # One seed gives the same event ids; staging keeps each once, so a reused seed left
    # sightings out of the mart and the run waited for them until it timed out.
    from bench.freshness import MEASURED_SEED, WARM_UP_SEED
    from bench.run import INCREMENTS

    offsets = {0, *range(1, INCREMENTS + 1)}
    assert len({WARM_UP_SEED, MEASURED_SEED}) == 2
    assert offsets.isdisjoint({WARM_UP_SEED, MEASURED_SEED})


def test_the_landing_rounds_alternate_and_report_medians(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bench import run as bench_run
    from bench.run import BenchOptions, LandingRun
    from smartcity.settings import Settings

    settings = Settings.from_env({"SMARTCITY_DATA_DIR": str(tmp_path)})
    ours = iter([20_000.0, 15_000.0, 18_000.0])
    peers = iter([16_000.0, 20_000.0, 15_000.0])
    calls: list[tuple[str, Path]] = []

    def land_ours(here: Settings, expected: int) -> tuple[LandingRun, list[dict], float]:
        calls.append(("ours", here.data_dir))
        (here.data_dir / "lake").mkdir(parents=True, exist_ok=True)
        return LandingRun(next(ours), 1.0), [], 1.0

    def land_peer(here: Settings, expected: int) -> LandingRun:
        calls.append(("peer", here.data_dir))
        (here.data_dir / "peer").mkdir(parents=True, exist_ok=True)
        return LandingRun(next(peers), 2.0)

    monkeypatch.setattr(bench_run, "_land_ours", land_ours)
    monkeypatch.setattr(bench_run, "_land_peer", land_peer)
    warmed: list[Settings] = []
    monkeypatch.setattr(bench_run, "_warm_readers", lambda here: warmed.append(here) or _WARMED)
    broker = type("Broker", (), {"bootstrap_servers": "127.0.0.1:1"})()
    figures = Results(conditions={})
    bench_run._landing(settings, broker, BenchOptions(rounds=3), figures, lambda _: None)  # type: ignore[arg-type]

    assert [job for job, _ in calls] == ["ours", "peer", "peer", "ours", "ours", "peer"]
    assert warmed == [settings]  # once, before the first round
    # Round 1 lands into the run's own lake, which the later parts use; each other round
    # into a folder of its own.
    folders = [folder for _, folder in calls]
    assert folders[0] == folders[1] == settings.data_dir
    assert folders[2] == folders[3] != folders[4] == folders[5]
    assert settings.data_dir not in folders[2:]
    # The first round's lake stays for the later parts; the others' folders go.
    assert (settings.data_dir / "lake").is_dir()
    assert not any(folder.exists() for folder in folders[2:])
    assert figures.figures["landing.events_per_s_in_triggers"].value == 18_000
    assert figures.figures["peer.events_per_s_in_triggers"].value == 16_000
    # The median of the rounds' own ratios (1.25, 0.75, 1.2), not a ratio of medians.
    assert figures.figures["landing.vs_peer"].value == pytest.approx(1.2)
    assert "1.25, 0.75, 1.20" in figures.figures["landing.vs_peer"].unit
    # ... and the goal is also judged on the worst round.
    assert figures.figures["landing.vs_peer_worst_round"].value == pytest.approx(0.75)


_WARMED = ReadersWarmed(jar_bytes=0, records=0, seconds=0.0)


def test_fewer_than_one_round_is_refused() -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "--rounds", "0"])
    assert exit_.value.code == 2
