{#-
    Incremental models read again only a window of recent partitions. Where the window
    starts is asked of the model itself before its SQL is written, and goes into the SQL
    as a constant: Athena and Trino prune partitions by constants, and a subquery in its
    place would have them scan every partition of the raw history.

    The window starts at the hour of the model's newest `time_column`, less the
    `incremental_lookback_hours` variable. Rows landed late, up to that many hours
    behind the newest, are still picked up; an event later than that waits for a
    `--full-refresh`.
-#}

{#-
    The window's start as a datetime (UTC, on the hour); with `group_column`, a dict
    of starts per value of that column. None on a first or full-refresh run, and when
    the model is empty: the whole history is read then.
-#}
{% macro incremental_window_start(time_column, group_column=none) -%}
    {%- if not (execute and is_incremental()) -%}
        {{ return(none) }}
    {%- endif -%}
    {#-
        The newest row is looked for in the model's recent partitions first (where reads
        are bounded, macros/recent_partitions.sql), and in all of them only when none is
        there. Per group, every group must be seen, so the whole model is read.
    -#}
    {%- set recent = none if group_column else recent_partitions_condition(
        config.get('meta', {}).get('window_column')
    ) -%}
    {%- set rows = run_query(_newest_query(time_column, group_column, recent)).rows -%}
    {%- set found = [] -%}
    {%- for row in rows if row[-1] is not none -%}
        {%- do found.append(row) -%}
    {%- endfor -%}
    {%- if recent is not none and not found -%}
        {%- set rows = run_query(_newest_query(time_column, group_column, none)).rows -%}
    {%- endif -%}
    {%- set starts = {} -%}
    {%- for row in rows -%}
        {%- set start = _lookback_from(row[-1]) -%}
        {%- if start is not none -%}
            {%- do starts.update({(row[0] if group_column else 'all'): start}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if group_column -%}
        {{ return(starts if starts else none) }}
    {%- endif -%}
    {{ return(starts.get('all')) }}
{%- endmacro %}

{% macro _newest_query(time_column, group_column, condition) -%}
    select
        {% if group_column %}{{ group_column }},{% endif %}
        max({{ time_column }}) as newest_at
    from {{ this }}
    {% if condition %}where {{ condition }}{% endif %}
    {% if group_column %}group by {{ group_column }}{% endif %}
{%- endmacro %}

{#- A date, timestamp or ISO text on the hour, less the look-back; none stays none. -#}
{% macro _lookback_from(newest) -%}
    {%- set hour = on_the_hour(newest) -%}
    {%- if hour is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(hour - modules.datetime.timedelta(hours=var('incremental_lookback_hours'))) }}
{%- endmacro %}

{#- A date, timestamp or ISO text (as engines return them) as a datetime on its hour. -#}
{% macro on_the_hour(moment) -%}
    {%- if moment is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if moment is string -%}
        {%- set moment = modules.datetime.datetime.fromisoformat(moment[:19]) -%}
    {%- endif -%}
    {%- set hour = moment.hour if moment.hour is defined else 0 -%}
    {{ return(modules.datetime.datetime(moment.year, moment.month, moment.day, hour)) }}
{%- endmacro %}

{% macro date_literal(moment) -%}
    cast('{{ moment.strftime("%Y-%m-%d") }}' as date)
{%- endmacro %}

{% macro timestamp_literal(moment) -%}
    cast('{{ moment.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
{%- endmacro %}

{#- The raw partitions of the hours from `start` on (event_date, then event_hour). -#}
{% macro hour_partitions_from(start, date_column='event_date', hour_column='event_hour') -%}
    ({{ date_column }} > {{ date_literal(start) }} or ({{ date_column }} = {{ date_literal(start) }} and {{ hour_column }} >= {{ start.hour }}))
{%- endmacro %}

{#- The raw partitions of the whole days from the day of `start` on. -#}
{% macro day_partitions_from(start, date_column='event_date') -%}
    {{ date_column }} >= {{ date_literal(start) }}
{%- endmacro %}

{#- A where clause keeping the hours from that of `start` on; nothing when start is none. -#}
{% macro where_hours_from(start) -%}
    {%- if start is not none %}
        where {{ hour_partitions_from(start) }}
    {%- endif %}
{%- endmacro %}

{#- A where clause keeping the days from that of `start` on; nothing when start is none. -#}
{% macro where_days_from(start, date_column) -%}
    {%- if start is not none %}
        where {{ day_partitions_from(start, date_column) }}
    {%- endif %}
{%- endmacro %}

{#-
    Rows of `relation` whose id the incremental model does not hold yet. Only the
    model's rows from `start` on are looked at: an id appended earlier than that has an
    earlier time too, being the same event.
-#}
{% macro not_loaded_yet(relation, id_column, time_column, start) -%}
    not exists (
        select 1
        from {{ this }} as loaded
        where
            loaded.{{ id_column }} = {{ relation }}.{{ id_column }}
            and loaded.{{ time_column }} >= {{ timestamp_literal(start) }}
    )
{%- endmacro %}
