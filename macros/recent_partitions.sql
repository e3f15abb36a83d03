{#-
    The hourly run reads recent partitions only, on the targets that bill by the byte
    read (`recent_days_targets`: Athena, and Redshift for Spectrum). Run over the whole
    history every hour, a single test on a staging view would soon cost more than the
    build and pass the workgroup's scan cutoff, and so would looking up an incremental
    model's newest row; rows tested when they arrived do not change.

    Recent is from the start of the day `recent_days` ago (UTC, by the clock) on, read by
    a model's `window_column` (its meta: the date or timestamp column that leads to its
    partitions, so that Athena and Trino prune by it).
-#}

{#- The condition on `column` that keeps recent rows; none where reads are not bounded. -#}
{% macro recent_partitions_condition(column) -%}
    {%- set days = var('recent_days') -%}
    {%- if not column or not days or target.type not in var('recent_days_targets') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set since = modules.datetime.datetime.utcnow() - modules.datetime.timedelta(days=days) -%}
    {{ return(column ~ ' >= ' ~ date_literal(since)) }}
{%- endmacro %}

{#-
    dbt wraps the relation of every generic test in this macro (a `where` config gives
    the same subquery); this version keeps the recent partitions of the tested model
    too. A model without a window_column (seeds, the small dimensions, the snapshot) is
    read whole, and so is every row by the tests tagged `whole_history`, which only mean
    something over all of them (uniqueness; the tests of the views that follow a vehicle
    or an incident through all of its history): the `whole_history_tests` selector runs
    those once a day, and the `hourly` one leaves them out (selectors.yml).
-#}
{% macro default__get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set recent = _tested_recent_partitions() -%}
    {%- if recent -%}
        {%- do conditions.append(recent) -%}
    {%- endif -%}
    {%- if not conditions -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
{%- endmacro %}

{#- The recent partitions of the model the test being compiled tests, as a condition. -#}
{% macro _tested_recent_partitions() -%}
    {%- if not execute or 'whole_history' in (model.get('tags') or []) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.get('attached_node') or '') -%}
    {%- set column = tested.config.meta.get('window_column') if tested else none -%}
    {{ return(recent_partitions_condition(column)) }}
{%- endmacro %}
