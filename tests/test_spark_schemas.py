from pyspark.sql import types as T

from ingestion.contracts import CONTRACTS, FieldType
from streaming.schemas import landed_schema, wire_schema


def test_spark_schemas_are_derived_field_by_field_from_the_contracts() -> None:
    for contract in CONTRACTS:
        assert wire_schema(contract).fieldNames() == contract.field_names()
        landed = landed_schema(contract)
        assert landed.fieldNames() == contract.field_names()
        for field in contract.fields:
            spark_type = landed[field.name].dataType
            if field.type is FieldType.TIMESTAMP:
                assert isinstance(spark_type, T.TimestampNTZType)
                assert isinstance(wire_schema(contract)[field.name].dataType, T.StringType)
            if field.type is FieldType.STRING_ARRAY:
                assert spark_type == T.ArrayType(T.StringType())
