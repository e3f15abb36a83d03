"""The column-level lineage that `smartcity docs` (so `make docs`) serves beside the dbt
docs, read in Debian's headless Chromium over the session's built lake: a mart column
followed back to the contract fields it is computed from, and a contract field forward
to the dashboards (dbt exposures) that read what is computed from it.

The expectations in the browser are checked against dbt-colibri's own lineage JSON, so
that the page is shown to draw what the lineage says, and the lineage is checked
against what the models compute."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from foundation.contracts import GPS_FIXES
from smartcity import pipeline
from smartcity.dbt import docs_site, lineage_report
from smartcity.local_stack.kafka_broker import free_port
from smartcity.local_stack.local_server import LocalServer
from smartcity.settings import PROJECT_ROOT, Settings
from tests.e2e import dashboard_browser

pytestmark = pytest.mark.e2e

# `dbt docs generate` on the session's lake, then the report: well under this.
GENERATE_TIMEOUT_S = 300.0
RENDER_TIMEOUT_S = 60.0
ANNOUNCEMENT = "column lineage on http://"

MART = "model.smartcity.fct_district_hourly_traffic"
# The congestion index is the districts' free-flow speed against the GPS units' speed.
MART_COLUMN = "congestion_index"
SOURCE = "source.smartcity.smartcity.gps_fixes"
SOURCE_FIELD = "speed_over_ground_kmh"
# A model built with UNION ALL: its lineage depends on sqlglot's set-operation scopes.
UNION_MART = "model.smartcity.fct_city_daily_kpis"


@dataclass(frozen=True)
class DocsSite:
    url: str
    target: Path
    log: Path

    @property
    def lineage_url(self) -> str:
        return f"{self.url}{docs_site.LINEAGE}/"

    def lineage(self) -> dict:
        return json.loads(
            (self.target / docs_site.LINEAGE / lineage_report.LINEAGE_JSON).read_text()
        )


class DocsServer(LocalServer):
    """`smartcity docs` as a user starts it, ready once it announces its URL."""

    name = "docs"
    title = "`smartcity docs`"
    startup_timeout_s = GENERATE_TIMEOUT_S
    shutdown_timeout_s = 10.0

    def __init__(self, state_dir: Path, settings: Settings) -> None:
        super().__init__(state_dir)
        self.settings = settings
        self.port = free_port()
        self.target = self.state_dir / "target"

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "smartcity", "docs", "--port", str(self.port)]
        return [*command, "--target-path", str(self.target)]

    def popen_options(self) -> dict[str, Any]:
        return {"env": pipeline.child_environment(self.settings), "cwd": PROJECT_ROOT}

    def is_ready(self) -> bool:
        return ANNOUNCEMENT in self.log_file.read_text()


@pytest.fixture(scope="module")
def docs(landed_lake: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocsSite]:
    """`smartcity docs` as a user starts it, on a free port, over the session's lake."""
    with DocsServer(tmp_path_factory.mktemp("docs"), landed_lake["settings"]) as server:
        yield DocsSite(f"http://127.0.0.1:{server.port}/", server.target, server.log_file)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with dashboard_browser.chromium() as driver:
        yield driver


# --- reading the lineage JSON ---------------------------------------------------------


def _is_structural(column: str) -> bool:
    # colibri's pseudo-columns for a column used in a WHERE or a JOIN: no data flows.
    return column.startswith("__colibri_")


def related_columns(lineage: dict, start: tuple[str, str], direction: str) -> set[tuple[str, str]]:
    """Every (node, column) reached from ``start`` through ``direction`` ("parents" or
    "children"), data flow only."""
    links = lineage["lineage"][direction]
    reached: set[tuple[str, str]] = set()
    pending = [start]
    while pending:
        node, column = pending.pop()
        for link in links.get(node, {}).get(column, []):
            found = (link["dbt_node"], link["column"])
            if not _is_structural(found[1]) and found not in reached:
                reached.add(found)
                pending.append(found)
    return reached


def exposures_reading(lineage: dict, models: set[str]) -> set[str]:
    return {
        edge["target"]
        for edge in lineage["lineage"]["edges"]
        if edge["target"].startswith("exposure.") and edge["source"] in models
    }


# --- reading the page -----------------------------------------------------------------

NODE = ".react-flow__node"
# The graph without the model browser beside it, which would lie over its left edge.
WHOLE_WIDTH = "hideSidebars=true"
COLLAPSED_CHEVRON = "button svg.lucide-chevron-down"


def open_lineage(browser: WebDriver, url: str) -> None:
    """The lineage page at ``url``, once its graph is drawn."""
    browser.get(url)
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, NODE), "no lineage drawn")


def click(browser: WebDriver, element: WebElement) -> None:
    """A click on the element itself: in the drawn graph another node's rows can lie over
    it where the headless window is narrow (one more model moves the layout), and a
    pointer click would land on them instead."""
    browser.execute_script(
        "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()", element
    )


def column_row(browser: WebDriver, node: str, column: str) -> WebElement:
    return browser.find_element(
        By.CSS_SELECTOR, f'{NODE}[data-id="{node}"] [data-column-name="{column}"]'
    )


def shown_nodes(browser: WebDriver) -> set[str]:
    return {node.get_attribute("data-id") for node in browser.find_elements(By.CSS_SELECTOR, NODE)}


def wait_for(browser: WebDriver, condition: Callable[[], object], what: str) -> None:
    WebDriverWait(browser, RENDER_TIMEOUT_S, poll_frequency=0.1).until(
        lambda _: condition(), message=f"{what} within {RENDER_TIMEOUT_S:.0f} s"
    )


def expand_every_node(browser: WebDriver) -> None:
    """Open each node drawn collapsed (a name and a column count), so its columns show."""
    collapsed = [
        node
        for node in browser.find_elements(By.CSS_SELECTOR, NODE)
        if not node.find_elements(By.CSS_SELECTOR, "[data-column-name]")
    ]
    for node in collapsed:
        chevron = node.find_element(By.CSS_SELECTOR, COLLAPSED_CHEVRON)
        browser.execute_script("arguments[0].closest('button').click()", chevron)
    wait_for(
        browser,
        lambda: all(
            node.find_elements(By.CSS_SELECTOR, "[data-column-name]")
            for node in browser.find_elements(By.CSS_SELECTOR, NODE)
        ),
        "every node did not open",
    )


def highlighted_columns(browser: WebDriver) -> set[tuple[str, str]]:
    """The (node, column) pairs the page marks as on the selected column's lineage."""
    pairs = browser.execute_script(
        "return Array.from(document.querySelectorAll('[data-highlighted=\"true\"]'))"
        ".map(row => [row.closest('.react-flow__node').dataset.id, row.dataset.columnName])"
    )
    return {(node, column) for node, column in pairs}


# --- the tests ------------------------------------------------------------------------


def test_the_lineage_follows_every_model_the_union_ones_too(docs: DocsSite) -> None:
    log = docs.log.read_text()
    assert "could not follow" not in log, log[-2000:]
    assert "lists no model's columns" not in log
    lineage = docs.lineage()
    parents = lineage["lineage"]["parents"]
    models = {node for node in lineage["nodes"] if node.startswith("model.")}
    manifest = json.loads((docs.target / "manifest.json").read_text())
    assert models == {node for node in manifest["nodes"] if node.startswith("model.")}
    # fct_city_daily_kpis is a UNION ALL of one row per day of each fact: its columns
    # lead back to every fact they come from.
    assert {node for node, _ in related_columns(lineage, (UNION_MART, "kpi_date"), "parents")} > {
        "model.smartcity.fct_trips",
        "model.smartcity.fct_emergency_incidents",
    }
    assert parents[UNION_MART]["kpi_date"]


def test_the_dbt_docs_link_to_the_lineage_served_beside_them(
    docs: DocsSite, browser: WebDriver
) -> None:
    browser.get(f"{docs.url}#!/overview")
    link = f'a[href="{docs_site.LINEAGE}/"]'
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, link), "no lineage link")
    browser.find_element(By.CSS_SELECTOR, link).click()
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, NODE), "no lineage drawn")
    assert browser.current_url.startswith(docs.lineage_url)


def test_a_mart_column_leads_back_to_its_contract_fields(
    docs: DocsSite, browser: WebDriver
) -> None:
    open_lineage(browser, f"{docs.lineage_url}?model={MART}&parents=all&{WHOLE_WIDTH}")
    click(browser, column_row(browser, MART, MART_COLUMN))
    wait_for(browser, lambda: SOURCE in shown_nodes(browser), "the source was not drawn")
    expand_every_node(browser)
    shown = highlighted_columns(browser)

    expected = related_columns(docs.lineage(), (MART, MART_COLUMN), "parents")
    assert shown == expected
    # Back to the raw events: the contract's speed field, and the free-flow speed of the
    # districts seed it is compared with.
    leaves = {(node, column) for node, column in shown if not node.startswith("model.")}
    assert leaves == {(SOURCE, SOURCE_FIELD), ("seed.smartcity.districts", "free_flow_speed_kmh")}
    assert SOURCE_FIELD in GPS_FIXES.field_names()


def test_a_contract_field_leads_forward_to_the_dashboards_that_read_it(
    docs: DocsSite, browser: WebDriver
) -> None:
    open_lineage(browser, f"{docs.lineage_url}?model={SOURCE}&children=all&{WHOLE_WIDTH}")
    click(browser, column_row(browser, SOURCE, SOURCE_FIELD))
    congestion = "exposure.smartcity.district_congestion"
    wait_for(browser, lambda: congestion in shown_nodes(browser), "no dashboard was drawn")
    drawn = shown_nodes(browser)
    shown = {node for node in drawn if node.startswith("exposure.")}

    lineage = docs.lineage()
    reached = {node for node, _ in related_columns(lineage, (SOURCE, SOURCE_FIELD), "children")}
    assert MART in reached
    # Every dashboard reading a model computed from the field is drawn, the congestion
    # dashboard among them; the page may add the models reading those, drawn without
    # column edges, and their dashboards, but nothing unrelated to what it draws.
    expected = exposures_reading(lineage, reached)
    assert congestion in expected
    assert expected <= shown
    assert shown == exposures_reading(lineage, drawn)
    # Each dashboard is drawn under the label its exposure gives it (the text of a node
    # drawn outside the window included).
    for exposure in shown:
        node = browser.find_element(By.CSS_SELECTOR, f'{NODE}[data-id="{exposure}"]')
        label = lineage["nodes"][exposure]["exposure_metadata"]["label"]
        assert label in node.get_attribute("textContent")
