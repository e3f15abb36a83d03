{#-
    Keep the first landed copy of each event_id. Raw data may hold the same event
    more than once (a producer retry, a replayed batch); staging is where that ends.

    Every copy of an event lies in the same partition (the partition is the hour of
    its event_at), so the partition keys lead the window: a filter on event_date or
    event_hour above a staging model then reaches the raw table's scan, and Athena and
    Trino read only the partitions asked for instead of the whole history. An event_id
    sent again with another event_at is no copy of the same event: both stay, and the
    unique test on event_id in staging fails and names it.
-#}
{% macro deduplicate_events(relation) -%}
    select *
    from (
        select
            *,
            row_number() over (
                partition by event_date, event_hour, event_id
                order by kafka_published_at, kafka_partition, kafka_offset
            ) as event_copy_number
        from {{ relation }}
    ) as numbered_events
    where event_copy_number = 1
{%- endmacro %}
