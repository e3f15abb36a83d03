"""The dashboard over the marts: every page in a real browser over the session's built
lake, and the messages a reader gets instead of a traceback when the database is locked
by a writer, missing, or lacks a mart."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from streamlit.testing.v1 import AppTest

from smartcity.dashboard import queries
from smartcity.dashboard.database import DatabaseBusy
from smartcity.dashboard.relations import MartMissing
from smartcity.dashboard.views import VIEWS
from smartcity.dbt import warehouse
from smartcity.local_stack.kafka_broker import free_port
from tests.e2e import dashboard_browser
from tests.local_dashboard import DashboardServer

# The URL paths dbt's exposures link to: a contract, so spelt out here again.
SLUGS = (
    "city_overview",
    "district_congestion",
    "fleet_and_trips",
    "emergency_response",
    "district_weather",
    "data_quality",
)
# Per page: its heading, and the fewest metric tiles, charts and tables it must show.
EXPECTED = {
    "city_overview": ("City overview", 13, 2, 0),
    "district_congestion": ("Congestion by district and hour", 4, 2, 1),
    "fleet_and_trips": ("Fleet and trips", 5, 3, 1),
    "emergency_response": ("Emergency response against targets", 4, 1, 2),
    "district_weather": ("Weather per district and hour", 4, 2, 1),
    "data_quality": ("Landing data quality", 4, 2, 2),
}
RERUN_HINT = "run `smartcity demo` or `dbt build` first"
BUSY = "dbt is writing the database; refresh in a moment"


def test_the_pages_answer_at_the_exposures_slugs() -> None:
    assert tuple(view.slug for view in VIEWS) == SLUGS


# --- the browser, over the session's lake --------------------------------------------


def relation(connection: duckdb.DuckDBPyConnection, name: str) -> str:
    """The mart's qualified name, looked up as plainly as possible (not with the
    dashboard's code, which this checks)."""
    schemas = sorted(
        row[0]
        for row in connection.execute(
            "select table_schema from information_schema.tables where table_name = ?", [name]
        ).fetchall()
    )
    assert schemas, f"{name} is not in the database"
    return f'"{schemas[-1]}"."{name}"'


def scalar(database: Path, sql: str, *marts: str) -> object:
    with duckdb.connect(str(database), read_only=True) as connection:
        names = {mart: relation(connection, mart) for mart in marts}
        return connection.execute(sql.format_map(names)).fetchone()[0]  # type: ignore[index]


@pytest.fixture(scope="module")
def dashboard_url(landed_lake: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = landed_lake["settings"]
    state = tmp_path_factory.mktemp("dashboard")
    with DashboardServer(state, settings, free_port()) as dashboard:
        yield dashboard.url


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    try:
        dashboard_browser.browser_paths()
    except dashboard_browser.BrowserMissing as missing:
        # Not a skip: the set-up installs the browser, so its absence is a set-up fault.
        pytest.fail(str(missing))
    with dashboard_browser.chromium() as driver:
        yield driver


def tiles(browser: WebDriver) -> dict[str, str]:
    """Each metric tile's label and value, as the reader sees them."""
    shown = {}
    for tile in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]'):
        label = tile.find_element(By.CSS_SELECTOR, '[data-testid="stMetricLabel"]').text
        shown[label.strip()] = tile.find_element(
            By.CSS_SELECTOR, '[data-testid="stMetricValue"]'
        ).text.strip()
    return shown


def count(browser: WebDriver, test_id: str) -> int:
    return len(browser.find_elements(By.CSS_SELECTOR, f'[data-testid="{test_id}"]'))


@pytest.mark.e2e
@pytest.mark.parametrize("slug", SLUGS)
def test_every_page_renders_its_figures_without_an_error(
    slug: str, dashboard_url: str, browser: WebDriver, landed_lake: dict
) -> None:
    started = time.monotonic()
    dashboard_browser.open_page(browser, f"{dashboard_url}/{slug}")
    title, metrics, charts, tables = EXPECTED[slug]
    assert browser.find_element(By.CSS_SELECTOR, "h1").text == title
    alerts = [
        element.text
        for element in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stAlert"]')
    ]
    # Every mart of the session's lake has rows, so no page has anything to warn about.
    assert alerts == []
    assert count(browser, "stException") == 0
    assert count(browser, "stMetric") >= metrics
    assert count(browser, "stVegaLiteChart") >= charts
    assert count(browser, "stDataFrame") >= tables
    assert time.monotonic() - started < 30

    database = landed_lake["settings"].duckdb_path
    shown = tiles(browser)
    if slug == "city_overview":
        for label, column in {
            "GPS fixes": "gps_fixes",
            "Vehicles active": "vehicles_active",
            "Trips started": "trips_started",
            "Records refused": "dead_letters",
        }.items():
            latest = scalar(
                database,
                # The page opens on the latest day with traffic: refusals are dated by
                # the day they landed, which can be a later day than any event's.
                f"select {column} from {{fct_city_daily_kpis}} where gps_fixes > 0 "
                "order by kpi_date desc limit 1",
                "fct_city_daily_kpis",
            )
            assert shown[label] == f"{latest:,}", label
    elif slug == "fleet_and_trips":
        trips = scalar(database, "select count(*) from {fct_trips}", "fct_trips")
        assert shown["Trips"] == f"{trips:,}"
    elif slug == "emergency_response":
        incidents = scalar(
            database, "select count(*) from {fct_emergency_incidents}", "fct_emergency_incidents"
        )
        assert shown["Incidents"] == f"{incidents:,}"
    elif slug == "data_quality":
        refused = scalar(database, "select count(*) from {fct_dead_letters}", "fct_dead_letters")
        assert refused > 0
        assert shown["Records refused"] == f"{refused:,}"
    elif slug == "district_congestion":
        hours = scalar(
            database,
            "select count(*) from {fct_district_hourly_traffic}",
            "fct_district_hourly_traffic",
        )
        assert shown["District-hours"] == f"{hours:,}"


@pytest.mark.e2e
def test_the_home_page_links_every_page(dashboard_url: str, browser: WebDriver) -> None:
    dashboard_browser.open_page(browser, dashboard_url)
    links = {
        link.get_attribute("href")
        for link in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stPageLink"] a')
    }
    assert links >= {f"{dashboard_url}/{slug}" for slug in SLUGS}
    assert count(browser, "stException") == 0


# --- messages instead of tracebacks, on small databases of their own ------------------


def render_view(slug: str) -> None:
    # Run by AppTest as a script of its own: only what is imported here is in scope.
    from smartcity.dashboard.views import VIEWS

    next(view for view in VIEWS if view.slug == slug).render()


def run_view(slug: str, database: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("SMARTCITY_DUCKDB_PATH", str(database))
    app = AppTest.from_function(render_view, args=(slug,), default_timeout=60)
    return app.run()


def kpis_database(path: Path, schema: str = warehouse.layer_schema("marts")) -> Path:
    with duckdb.connect(str(path)) as connection:
        connection.execute(f"create schema if not exists {schema}")
        connection.execute(
            f"create table {schema}.fct_city_daily_kpis as "
            "select date '2026-05-04' as kpi_date, 7::bigint as gps_fixes"
        )
    return path


class WriteLock:
    """Another process holding DuckDB's write lock on ``path``, as dbt does while it builds."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import duckdb, sys\n"
                f"connection = duckdb.connect({str(path)!r})\n"
                "print('locked', flush=True)\n"
                "sys.stdin.read()\n",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def test_marts_are_read_from_the_marts_schema_and_nowhere_else(tmp_path: Path) -> None:
    database = kpis_database(tmp_path / "marts.duckdb")
    frame = queries.fetch(database, "select gps_fixes from {fct_city_daily_kpis}")
    assert frame["gps_fixes"].tolist() == [7]
    # A table of the same name in another schema (a stale build before the per-layer
    # schemas) is never read.
    with duckdb.connect(str(database)) as connection:
        connection.execute(
            "create table main.fct_city_daily_kpis as "
            "select date '2026-05-04' as kpi_date, 1::bigint as gps_fixes"
        )
    frame = queries.fetch(database, "select gps_fixes from {fct_city_daily_kpis}")
    assert frame["gps_fixes"].tolist() == [7]
    # ... and a mart only there counts as missing, with the message that says what to run.
    stale = kpis_database(tmp_path / "stale.duckdb", schema="main")
    with pytest.raises(MartMissing, match="fct_city_daily_kpis"):
        queries.fetch(stale, "select gps_fixes from {fct_city_daily_kpis}")


def test_a_query_waits_out_a_short_write(tmp_path: Path) -> None:
    database = kpis_database(tmp_path / "busy.duckdb")
    lock = WriteLock(database)
    # The writer lets go while the query is retrying.
    threading.Timer(0.5, lock.release).start()
    started = time.monotonic()
    frame = queries.fetch(database, "select gps_fixes from {fct_city_daily_kpis}", timeout_s=30)
    assert frame["gps_fixes"].tolist() == [7]
    assert time.monotonic() - started >= 0.3
    assert lock.process.returncode == 0


def test_a_locked_database_gives_the_busy_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = kpis_database(tmp_path / "locked.duckdb")
    lock = WriteLock(database)
    try:
        with pytest.raises(DatabaseBusy, match=BUSY):
            queries.fetch(database, "select * from {fct_city_daily_kpis}", timeout_s=0.5)
        app = run_view("city_overview", database, monkeypatch)
        assert not app.exception
        assert len(app.warning) == 1
        assert BUSY in app.warning[0].value
    finally:
        lock.release()


@pytest.mark.parametrize("slug", SLUGS)
def test_a_database_without_the_marts_gives_the_info_message(
    slug: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "empty.duckdb"
    duckdb.connect(str(database)).close()
    with pytest.raises(MartMissing):
        queries.fetch(database, "select * from {fct_trips}")
    app = run_view(slug, database, monkeypatch)
    assert not app.exception
    assert app.info, "no message on the page"
    assert all(RERUN_HINT in info.value for info in app.info)


def test_no_database_at_all_gives_the_info_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_view("city_overview", tmp_path / "never-built.duckdb", monkeypatch)
    assert not app.exception
    assert len(app.info) == 1
    assert RERUN_HINT in app.info[0].value
