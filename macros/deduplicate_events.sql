{#-
    Keep the first landed copy of each event_id. Raw data may hold the same event
    more than once (a producer retry, a replayed batch); staging is where that ends.
-#}
{% macro deduplicate_events(relation) -%}
    select *
    from (
        select
            *,
            row_number() over (
                partition by event_id
                order by kafka_published_at, kafka_partition, kafka_offset
            ) as event_copy_number
        from {{ relation }}
    ) as numbered_events
    where event_copy_number = 1
{%- endmacro %}
