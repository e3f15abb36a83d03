{#- Generated from foundation/lake_tables.py by `smartcity dbt-sources --write`; do
    not edit. The columns every staging model carries through from the landing job:
    when the event happened, where in Kafka it came from, when it landed, and the raw
    partition it lies in (for filters that prune).
-#}
{% macro landing_metadata() -%}
        -- timestamps
        event_at,
        kafka_published_at,
        landed_at,

        -- lineage
        kafka_topic,
        kafka_partition,
        kafka_offset,

        -- partition
        event_date,
        event_hour
{%- endmacro %}

{#- The raw tables' partition keys, in order (their date, then their hour). -#}
{% macro raw_partition_keys() -%}
    {{ return(['event_date', 'event_hour']) }}
{%- endmacro %}
