{#-
    The columns every staging model carries through from the landing job: when the
    event happened and where in Kafka it came from. One list, so that a change in what
    the landing job writes is made once.
-#}
{% macro landing_metadata() -%}
        -- timestamps
        event_at,
        kafka_published_at,
        landed_at,

        -- lineage
        kafka_topic,
        kafka_partition,
        kafka_offset
{%- endmacro %}
