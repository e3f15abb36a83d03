"""`smartcity bi tableau`: a Tableau data source per mart, read back as XML and checked
against dbt's manifest (every mart, every column with its type and description), with
the connection to Athena taken from the athena target's environment variables."""

from __future__ import annotations

import json
import os
from pathlib import Path
from xml.etree import ElementTree

import pytest

from smartcity.cli import main
from smartcity.cli.bi_commands import HYPER, default_out
from smartcity.settings import PROJECT_ROOT, Settings

# How the marts' YAML types render on the local target (dbt parses with it), and the
# Tableau datatype each must be: written out here again, as the contract for BI.
TABLEAU_TYPE = {
    "varchar": "string",
    "bigint": "integer",
    "integer": "integer",
    "double": "real",
    "date": "date",
    "timestamp": "datetime",
    "boolean": "boolean",
}
ENVIRONMENT = {
    "AWS_REGION": "ap-southeast-2",
    "SMARTCITY_ATHENA_STAGING_DIR": "s3://city-athena-results/bi/",
    "SMARTCITY_ATHENA_WORK_GROUP": "city-bi",
    "SMARTCITY_ATHENA_SCHEMA": "city_prod",
}


@pytest.fixture(scope="module")
def manifest(parsed_project: Path) -> tuple[Path, dict]:
    path = parsed_project / "manifest.json"
    return path, json.loads(path.read_text())


@pytest.fixture(scope="module")
def marts(manifest: tuple[Path, dict]) -> dict[str, dict]:
    _, nodes = manifest
    return {
        node["name"]: node
        for node in nodes["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1] == "marts"
    }


@pytest.fixture(scope="module")
def written(manifest: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tableau")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AWS_DEFAULT_REGION", raising=False)
        for name, value in ENVIRONMENT.items():
            patch.setenv(name, value)
        assert main(["bi", "tableau", "--manifest", str(manifest[0]), "--out", str(out)]) == 0
    return out


def test_every_mart_has_a_data_source_with_its_columns_types_and_descriptions(
    written: Path, marts: dict[str, dict]
) -> None:
    # Every model in the marts folder, found on its own (a count written here would go
    # stale with the next mart).
    assert len(marts) == len(list((PROJECT_ROOT / "dbt_project/models/marts").rglob("*.sql")))
    assert {path.stem for path in written.glob("*.tds")} == set(marts)
    for name, model in marts.items():
        source = ElementTree.parse(written / f"{name}.tds").getroot()
        assert source.tag == "datasource"
        records = {
            record.findtext("remote-name"): record
            for record in source.iter("metadata-record")
            if record.findtext("parent-name") == f"[{name}]"
        }
        fields = {field.get("name"): field for field in source.findall("column")}
        assert list(records) == list(model["columns"]), name
        for column in model["columns"].values():
            expected = TABLEAU_TYPE[column["data_type"]]
            record = records[column["name"]]
            assert record.findtext("local-type") == expected, (name, column["name"])
            # The mart's own columns keep their names; a related mart's repeats do not.
            assert record.findtext("local-name") == f"[{column['name']}]"
            field = fields[f"[{column['name']}]"]
            assert field.get("datatype") == expected
            assert field.findtext("desc/formatted-text/run") == column["description"].strip()
            assert column["description"].strip(), (name, column["name"])


def test_the_connection_is_athena_through_the_workgroup_from_the_environment(
    written: Path, marts: dict[str, dict]
) -> None:
    for name in marts:
        source = ElementTree.parse(written / f"{name}.tds").getroot()
        federated = source.find("connection")
        assert federated is not None and federated.get("class") == "federated"
        named = federated.findall("named-connections/named-connection")
        assert len(named) == 1
        athena = named[0].find("connection")
        assert athena is not None
        assert athena.attrib == {
            "class": "athena",
            "server": "athena.ap-southeast-2.amazonaws.com",
            "port": "443",
            "s3_staging_dir": "s3://city-athena-results/bi/",
            "workgroup": "city-bi",
            "schema": "city_prod_marts",
            "username": "",
        }
        tables = federated.findall("relation[@type='collection']/relation")
        assert tables[0].get("name") == name
        for table in tables:
            assert table.get("connection") == named[0].get("name")
            assert table.get("table") == f"[city_prod_marts].[{table.get('name')}]"
    properties = (written / "athena.properties").read_text().splitlines()
    assert "Workgroup=city-bi" in properties


def test_a_mart_is_related_to_the_marts_its_relationships_tests_name_as_a_tree(
    written: Path, manifest: tuple[Path, dict]
) -> None:
    _, nodes = manifest
    tested = {
        (node["attached_node"].split(".")[-1], node["column_name"])
        for node in nodes["nodes"].values()
        if (node.get("test_metadata") or {}).get("name") == "relationships"
    }
    source = ElementTree.parse(written / "fct_camera_sightings.tds").getroot()
    objects = {o.get("id"): o.get("caption") for o in source.iter("object")}
    assert sorted(objects.values()) == ["dim_cameras", "dim_districts", "fct_camera_sightings"]
    links = []
    for relationship in source.iter("relationship"):
        first = relationship.find("first-end-point")
        second = relationship.find("second-end-point")
        assert first is not None and second is not None
        sides = [side.get("op") for side in relationship.findall("expression/expression")]
        links.append((objects[first.get("object-id")], objects[second.get("object-id")], sides))
    # A tree: one relationship fewer than tables, and every table reached from the mart.
    assert len(links) == len(objects) - 1
    reached = {"fct_camera_sightings"}
    for from_table, to_table, _ in links:
        assert from_table in reached
        reached.add(to_table)
    assert reached == set(objects.values())
    assert links == [
        ("fct_camera_sightings", "dim_cameras", ["[camera_id]", "[camera_id (dim_cameras)]"]),
        (
            "fct_camera_sightings",
            "dim_districts",
            ["[district_id]", "[district_id (dim_districts)]"],
        ),
    ]
    assert {("fct_camera_sightings", "camera_id"), ("fct_camera_sightings", "district_id")} <= (
        tested
    )
    lone = ElementTree.parse(written / "fct_dead_letters.tds").getroot()
    assert [o.get("caption") for o in lone.iter("object")] == ["fct_dead_letters"]
    assert list(lone.iter("relationship")) == []


def test_without_the_staging_dir_or_a_manifest_it_says_what_to_set(
    manifest: tuple[Path, dict],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("SMARTCITY_ATHENA_STAGING_DIR", raising=False)
    arguments = ["bi", "tableau", "--manifest", str(manifest[0]), "--out", str(tmp_path)]
    assert main(arguments) == 1
    assert "SMARTCITY_ATHENA_STAGING_DIR is not set" in capsys.readouterr().err
    monkeypatch.setenv("SMARTCITY_ATHENA_STAGING_DIR", "s3://results/")
    arguments[3] = str(tmp_path / "missing.json")
    assert main(arguments) == 1
    error = capsys.readouterr().err
    assert f"no dbt manifest at {tmp_path / 'missing.json'}: run `dbt parse`" in error
    assert os.listdir(tmp_path) == []


def test_each_exposure_names_the_data_sources_of_the_marts_it_reads(
    written: Path, manifest: tuple[Path, dict]
) -> None:
    _, nodes = manifest
    exposures = list(nodes["exposures"].values())
    assert exposures
    for exposure in exposures:
        meta = exposure["config"]["meta"]
        reads = [node.split(".")[-1] for node in exposure["depends_on"]["nodes"]]
        assert sorted(meta["tableau_datasources"]) == sorted(f"{m}.tds" for m in reads)
        for name in meta["tableau_datasources"]:
            assert (written / name).is_file(), (exposure["name"], name)
        assert meta["hyper_extract"] == default_out(HYPER, Settings.from_env()).name
        assert (PROJECT_ROOT / meta["bi_guide"]).is_file()
