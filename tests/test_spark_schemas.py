from pyspark.sql import types as T

from foundation.contracts import CONTRACTS, FieldType
from foundation.lake_tables import ENGINE_TYPES, LAKE_TABLES
from streaming.schemas import landed_schema, spark_type, table_schema, wire_schema


def test_spark_schemas_are_derived_field_by_field_from_the_contracts() -> None:
    for contract in CONTRACTS:
        assert wire_schema(contract).fieldNames() == contract.field_names()
        landed = landed_schema(contract)
        assert landed.fieldNames() == contract.field_names()
        for field in contract.fields:
            landed_type = landed[field.name].dataType
            if field.type is FieldType.TIMESTAMP:
                assert isinstance(landed_type, T.TimestampNTZType)
                assert isinstance(wire_schema(contract)[field.name].dataType, T.StringType)
            if field.type is FieldType.STRING_ARRAY:
                assert landed_type == T.ArrayType(T.StringType())


def test_every_logical_type_has_the_spark_type_the_type_table_names() -> None:
    for kind, names in ENGINE_TYPES.items():
        assert spark_type(kind).simpleString() == names.spark


def test_every_lake_table_has_a_spark_schema_with_its_partition_keys_last() -> None:
    for table in LAKE_TABLES:
        schema = table_schema(table)
        assert schema.fieldNames() == table.column_names()
        assert schema.fieldNames()[-len(table.partition_keys) :] == [
            c.name for c in table.partition_keys
        ]
