"""Tableau data sources (.tds) over the marts on Athena, one per mart.

Each mart's data source is the mart and the marts it references, following its
`relationships` tests outwards (a fact, its dimensions, theirs): Tableau relates the
logical tables of one data source as a tree, and the marts as a whole are not one (three
have no key in common with any other, and camera sightings reach the districts both
directly and through the cameras). A tree per mart opens without a relationship to fix.

The XML is Tableau's data source format as Tableau 2020.2 and later write it: a
`federated` connection whose named connection is the `athena` connector, the physical
tables (a `collection` of `relation`s), the field map (`cols`), a `metadata-record` per
column, then the logical layer: a `column` per field with its caption and description,
and the `object-graph` of logical tables with their relationships.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from smartcity.bi.athena_endpoint import PORT, AthenaEndpoint
from smartcity.bi.marts import Mart, ValueKind

CONNECTION_NAME = "athena.smartcity"
# The format changes Tableau records for the logical layer (2020.2's object model).
FORMAT_CHANGES = ("ObjectModelEncapsulateLegacy", "ObjectModelTableType", "SchemaViewerObjectModel")


@dataclass(frozen=True)
class KindInTableau:
    # The driver's type code Tableau records (ADO's numbering), the default aggregation,
    # and the field type of a measure or a dimension.
    remote_type: int
    aggregation: str
    role: str
    field_type: str


IN_TABLEAU = {
    ValueKind.STRING: KindInTableau(129, "Count", "dimension", "nominal"),
    ValueKind.BOOLEAN: KindInTableau(11, "Count", "dimension", "nominal"),
    ValueKind.INTEGER: KindInTableau(20, "Sum", "measure", "quantitative"),
    ValueKind.REAL: KindInTableau(5, "Sum", "measure", "quantitative"),
    ValueKind.DATE: KindInTableau(133, "Year", "dimension", "ordinal"),
    ValueKind.DATETIME: KindInTableau(135, "Year", "dimension", "ordinal"),
}


@dataclass(frozen=True)
class Relationship:
    from_mart: str
    from_column: str
    to_mart: str
    to_column: str


@dataclass(frozen=True)
class Star:
    """A mart and the marts its references reach, each once, and the relationships that
    join them into a tree."""

    tables: tuple[Mart, ...]
    relationships: tuple[Relationship, ...]

    @property
    def root(self) -> Mart:
        return self.tables[0]


def star(root: Mart, marts: Iterable[Mart]) -> Star:
    by_name = {mart.name: mart for mart in marts}
    tables, relationships = [root], []
    for table in tables:  # grows while it is walked: breadth first
        for reference in sorted(table.references, key=lambda r: r.column):
            if reference.to_mart in {t.name for t in tables}:
                continue  # reached already: another edge to it would close a cycle
            tables.append(by_name[reference.to_mart])
            relationships.append(
                Relationship(table.name, reference.column, reference.to_mart, reference.to_column)
            )
    return Star(tuple(tables), tuple(relationships))


def field_names(tables: Iterable[Mart]) -> dict[tuple[str, str], str]:
    """Each column's field name in the data source, as Tableau names them: its own name,
    or, for a name already taken by an earlier table, the name and its table's."""
    names: dict[tuple[str, str], str] = {}
    for table in tables:
        for column in table.columns:
            name = column.name
            if name in names.values():
                name = f"{column.name} ({table.name})"
            names[table.name, column.name] = name
    return names


def object_id(mart: str) -> str:
    return f"{mart}_{hashlib.md5(mart.encode()).hexdigest().upper()}"


def datasource(model: Star, endpoint: AthenaEndpoint) -> ElementTree.ElementTree:
    fields = field_names(model.tables)
    root = ElementTree.Element(
        "datasource",
        {
            "formatted-name": f"smartcity {model.root.name}",
            "inline": "true",
            "version": "18.1",
            "xmlns:user": "http://www.tableausoftware.com/xml/user",
        },
    )
    changes = ElementTree.SubElement(root, "document-format-change-manifest")
    for change in FORMAT_CHANGES:
        ElementTree.SubElement(changes, change)
    root.append(_federated_connection(model, endpoint, fields))
    ElementTree.SubElement(root, "aliases", {"enabled": "yes"})
    for table in model.tables:
        for column in table.columns:
            root.append(_field(fields[table.name, column.name], column.kind, column.description))
    ElementTree.SubElement(
        root,
        "layout",
        {"dim-ordering": "alphabetic", "measure-ordering": "alphabetic", "show-structure": "true"},
    )
    root.append(_object_graph(model, endpoint, fields))
    ElementTree.indent(root)
    return ElementTree.ElementTree(root)


def _athena_connection(endpoint: AthenaEndpoint) -> ElementTree.Element:
    # No credentials: Tableau asks for the access key (or a properties file names a
    # credentials provider, docs/bi-tools.md). The workgroup is also in athena.properties,
    # which the connector's driver reads.
    return ElementTree.Element(
        "connection",
        {
            "class": "athena",
            "server": endpoint.server,
            "port": str(PORT),
            "s3_staging_dir": endpoint.staging_dir,
            "workgroup": endpoint.work_group,
            "schema": endpoint.schema,
            "username": "",
        },
    )


def _table_relation(mart: Mart, endpoint: AthenaEndpoint) -> ElementTree.Element:
    return ElementTree.Element(
        "relation",
        {
            "connection": CONNECTION_NAME,
            "name": mart.name,
            "table": f"[{endpoint.schema}].[{mart.name}]",
            "type": "table",
        },
    )


def _federated_connection(
    model: Star, endpoint: AthenaEndpoint, fields: dict[tuple[str, str], str]
) -> ElementTree.Element:
    connection = ElementTree.Element("connection", {"class": "federated"})
    named = ElementTree.SubElement(
        ElementTree.SubElement(connection, "named-connections"),
        "named-connection",
        {"caption": endpoint.server, "name": CONNECTION_NAME},
    )
    named.append(_athena_connection(endpoint))
    collection = ElementTree.SubElement(connection, "relation", {"type": "collection"})
    for table in model.tables:
        collection.append(_table_relation(table, endpoint))
    cols = ElementTree.SubElement(connection, "cols")
    for (table, column), field in fields.items():
        ElementTree.SubElement(cols, "map", {"key": f"[{field}]", "value": f"[{table}].[{column}]"})
    records = ElementTree.SubElement(connection, "metadata-records")
    ordinal = 0
    for table in model.tables:
        for column in table.columns:
            kind = IN_TABLEAU[column.kind]
            record = ElementTree.SubElement(records, "metadata-record", {"class": "column"})
            for tag, text in (
                ("remote-name", column.name),
                ("remote-type", str(kind.remote_type)),
                ("local-name", f"[{fields[table.name, column.name]}]"),
                ("parent-name", f"[{table.name}]"),
                ("remote-alias", column.name),
                ("ordinal", str(ordinal)),
                ("local-type", column.kind.value),
                ("aggregation", kind.aggregation),
                ("contains-null", "true"),
                ("object-id", f"[{object_id(table.name)}]"),
            ):
                ElementTree.SubElement(record, tag).text = text
            ordinal += 1
    return connection


def caption(field: str) -> str:
    """The field's caption as Tableau makes one from a column name: `avg_speed_kmh` is
    shown as "Avg Speed Kmh"; the table a repeated name is qualified by stays as it is."""
    name, _, table = field.partition(" (")
    shown = name.replace("_", " ").title()
    return f"{shown} ({table}" if table else shown


def _field(name: str, kind: ValueKind, description: str) -> ElementTree.Element:
    in_tableau = IN_TABLEAU[kind]
    column = ElementTree.Element(
        "column",
        {
            "caption": caption(name),
            "datatype": kind.value,
            "name": f"[{name}]",
            "role": in_tableau.role,
            "type": in_tableau.field_type,
        },
    )
    if description:
        text = ElementTree.SubElement(ElementTree.SubElement(column, "desc"), "formatted-text")
        ElementTree.SubElement(text, "run").text = description
    return column


def _object_graph(
    model: Star, endpoint: AthenaEndpoint, fields: dict[tuple[str, str], str]
) -> ElementTree.Element:
    graph = ElementTree.Element("object-graph")
    objects = ElementTree.SubElement(graph, "objects")
    for table in model.tables:
        item = ElementTree.SubElement(
            objects, "object", {"caption": table.name, "id": object_id(table.name)}
        )
        properties = ElementTree.SubElement(item, "properties", {"context": ""})
        properties.append(_table_relation(table, endpoint))
    relationships = ElementTree.SubElement(graph, "relationships")
    for link in model.relationships:
        relationship = ElementTree.SubElement(relationships, "relationship")
        equal = ElementTree.SubElement(relationship, "expression", {"op": "="})
        for table, column in ((link.from_mart, link.from_column), (link.to_mart, link.to_column)):
            ElementTree.SubElement(equal, "expression", {"op": f"[{fields[table, column]}]"})
        ElementTree.SubElement(
            relationship, "first-end-point", {"object-id": object_id(link.from_mart)}
        )
        ElementTree.SubElement(
            relationship, "second-end-point", {"object-id": object_id(link.to_mart)}
        )
    return graph


def athena_properties(endpoint: AthenaEndpoint) -> str:
    """The Athena driver's properties file for Tableau (My Tableau Repository/Datasources/
    athena.properties): the connector sends its queries to the workgroup named here."""
    return (
        "# Written by `smartcity bi tableau`: Tableau's Athena driver reads it from\n"
        "# My Tableau Repository/Datasources (docs/bi-tools.md).\n"
        f"Workgroup={endpoint.work_group}\n"
    )


def write_datasources(marts: list[Mart], endpoint: AthenaEndpoint, folder: Path) -> list[Path]:
    """A .tds per mart in ``folder``, and the driver's athena.properties; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for mart in marts:
        path = folder / f"{mart.name}.tds"
        datasource(star(mart, marts), endpoint).write(path, encoding="utf-8", xml_declaration=True)
        written.append(path)
    properties = folder / "athena.properties"
    properties.write_text(athena_properties(endpoint))
    return [*written, properties]
