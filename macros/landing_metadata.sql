{#-
    The columns every staging model carries through from the landing job: when the
    event happened, where in Kafka it came from, and the raw partition it lies in (for
    filters that prune). One list, so that a change in what the landing job writes is
    made once.
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
