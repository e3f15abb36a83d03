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
    {{ return(adapter.dispatch('deduplicate_events', 'smartcity')(relation)) }}
{%- endmacro %}

{% macro default__deduplicate_events(relation) -%}
    select *
    from (
        select
            *,
            {{ numbered_copies() }}
        from {{ relation }}
    ) as numbered_events
    where event_copy_number = 1
{%- endmacro %}

{#-
    Redshift reads the raw tables through Spectrum, which refuses `select *` over a
    table with a nested column and has no array functions for an external array (it is
    not SUPER). So the columns are named (from the generated sources), and each array
    column is read the one way Spectrum documents, unnested in a FROM clause, into two
    scalar columns: <name>__count (its elements) and <name>__text (its elements sorted
    and joined by NESTED_TEXT_SEPARATOR), which redshift__array_size and
    redshift__array_to_text name. Each copy of an event is one Kafka record, so the
    summary joins back on the record's partition and offset. The summary reads the
    whole source (a filter above the staging model reaches the numbered copies, not
    the aggregate): only the emergency updates have an array, about one event in a
    thousand.
-#}
{% macro redshift__deduplicate_events(relation) -%}
    {%- set scalar_columns, nested_columns = smartcity.raw_columns_of(relation) -%}
    select
        {%- for column in scalar_columns %}
        numbered_events.{{ column }},
        {%- endfor %}
        {%- for column in nested_columns %}
        coalesce({{ column }}_summary.element_count, 0) as {{ column }}__count,
        coalesce({{ column }}_summary.elements_text, '') as {{ column }}__text,
        {%- endfor %}
        numbered_events.event_copy_number
    from (
        select
            {%- for column in scalar_columns %}
            {{ column }},
            {%- endfor %}
            {{ numbered_copies() }}
        from {{ relation }}
    ) as numbered_events
    {%- for column in nested_columns %}
    left join (
        select
            events.kafka_partition,
            events.kafka_offset,
            count(element) as element_count,
            listagg(element, '{{ smartcity.nested_text_separator() }}')
                within group (order by element) as elements_text
        from {{ relation }} as events
        left join events.{{ column }} as element on true
        group by events.kafka_partition, events.kafka_offset
    ) as {{ column }}_summary
        on
            numbered_events.kafka_partition = {{ column }}_summary.kafka_partition
            and numbered_events.kafka_offset = {{ column }}_summary.kafka_offset
    {%- endfor %}
    where numbered_events.event_copy_number = 1
{%- endmacro %}

{% macro numbered_copies() -%}
    row_number() over (
        partition by {{ raw_partition_keys() | join(', ') }}, event_id
        order by kafka_published_at, kafka_partition, kafka_offset
    ) as event_copy_number
{%- endmacro %}

{#-
    The raw table's columns, as the generated sources declare them: the scalar ones and
    the arrays (a data_type ending in []), each a list of names.
-#}
{% macro raw_columns_of(relation) -%}
    {%- set scalar_columns, nested_columns = [], [] -%}
    {%- if execute -%}
        {%- set matches = graph.sources.values()
            | selectattr('identifier', 'equalto', relation.identifier)
            | selectattr('schema', 'equalto', relation.schema)
            | list -%}
        {%- if matches | length != 1 -%}
            {{ exceptions.raise_compiler_error(
                "deduplicate_events: " ~ relation ~ " is not one source of the project; "
                ~ "pass a source() of the generated sources") }}
        {%- endif -%}
        {%- for column in matches[0].columns.values() -%}
            {%- do (nested_columns if (column.data_type or '').endswith('[]')
                else scalar_columns).append(column.name) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return((scalar_columns, nested_columns)) }}
{%- endmacro %}
