{#-
    Incremental models follow what landed, not event time.

    Each incremental model keeps `landed_at`: the newest landing time of the raw rows it
    was computed from. A run reads the newest value the model holds and asks the raw
    tables which keys changed since: the event hours (or days, vehicles, incidents, as
    the model's grain is) of the rows landed after it. It recomputes exactly those keys,
    named as constants in its SQL (Athena and Trino prune partitions by constants, not by
    a subquery), and replaces them. A late event of any lateness changes its own hour at
    the next run; an event dated in the future changes only its own hour, and moves no
    window past the hours around it.

    The look-up goes back `landing_margin_minutes` more than the newest value: the five
    raw tables commit one after another, so a run can read one table's batch and not
    yet another's with an earlier landing time. The margin costs only keys recomputed
    twice. On Iceberg every data file holds one micro-batch, so its statistics prune the
    question "what landed after" to the files landed since.
-#}

{#-
    The landing time after which rows count as new for this run of the model: its
    newest `column` less the margin. None on a first or full-refresh run and when the
    model is empty: the whole history is read then.

    Where reads are billed by the byte (macros/recent_partitions.sql), the newest value is
    looked for in two steps, neither of which reads the whole model: in its recent
    partitions first, then among the rows landed at or after what was found there (a late
    event's row lies in an old partition but landed last; Iceberg skips every file whose
    statistics say it holds nothing that new). A model with no recent row is read whole.
-#}
{% macro landed_since(column='landed_at') -%}
    {%- if not (execute and is_incremental()) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set recent = recent_partitions_condition(config.get('meta', {}).get('window_column')) -%}
    {%- set recent_newest = _newest_landed(column, recent) if recent is not none else none -%}
    {%- set newest = _newest_landed(
        column,
        none if recent_newest is none
        else column ~ ' >= ' ~ timestamp_literal(recent_newest, rounded_down_to_ms=true)
    ) or recent_newest -%}
    {%- if newest is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(newest - modules.datetime.timedelta(minutes=var('landing_margin_minutes'))) }}
{%- endmacro %}

{% macro _newest_landed(column, condition) -%}
    {%- set query -%}
        select max({{ column }}) as newest_landed_at from {{ this }}
        {%- if condition %} where {{ condition }}{% endif %}
    {%- endset -%}
    {{ return(as_datetime(run_query(query).rows[0][-1])) }}
{%- endmacro %}

{#-
    The raw table of a source of the lake. Read directly only to ask what landed when:
    its rows reach models through staging, where copies of an event are dropped, and a
    filter on the landing time cannot pass through that step. The model depends on the
    source already, through its staging model.
-#}
{% macro raw_table(name) -%}
    {{ return(source('smartcity', name)) }}
{%- endmacro %}

{#-
    The event hours (datetimes on the hour) of the raw rows of `source_name` landed after
    `since`; none when `since` is none (everything is read).
-#}
{% macro changed_event_hours(source_name, since) -%}
    {%- if since is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select min(event_at) as changed_at
        from {{ raw_table(source_name) }}
        where landed_at > {{ timestamp_literal(since) }}
        group by {{ raw_partition_keys() | join(', ') }}
    {%- endset -%}
    {{ return(distinct_moments(moments_of(query), 'hour')) }}
{%- endmacro %}

{#- The days (datetimes at midnight) of the dead letters landed after `since`. -#}
{% macro changed_dead_letter_days(since) -%}
    {%- if since is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select min(dead_lettered_at) as changed_at
        from {{ raw_table('dead_letters') }}
        where dead_lettered_at > {{ timestamp_literal(since) }}
        group by dead_letter_date
    {%- endset -%}
    {{ return(distinct_moments(moments_of(query), 'day')) }}
{%- endmacro %}

{#- The last column of every row `query` returns, as datetimes (nulls left out). -#}
{% macro moments_of(query) -%}
    {%- set found = [] -%}
    {%- for row in run_query(query).rows -%}
        {%- set moment = as_datetime(row[-1]) -%}
        {%- if moment is not none -%}
            {%- do found.append(moment) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- The hours (`unit` hour) or days (`unit` day) of `moments`, each once, in order. -#}
{% macro distinct_moments(moments, unit) -%}
    {%- set found = [] -%}
    {%- for moment in moments -%}
        {%- do found.append(on_the_hour(moment) if unit == 'hour' else on_the_day(moment)) -%}
    {%- endfor -%}
    {{ return(found | unique | sort | list) }}
{%- endmacro %}

{#- Each day from that of `first` to that of `last`, as datetimes at midnight. -#}
{% macro days_between(first, last) -%}
    {%- set days = [] -%}
    {%- set day = on_the_day(first) -%}
    {%- for _ in range((on_the_day(last) - day).days + 1) -%}
        {%- do days.append(day + modules.datetime.timedelta(days=loop.index0)) -%}
    {%- endfor -%}
    {{ return(days) }}
{%- endmacro %}

{#-
    A condition keeping the raw partitions of `hours`: per day, its date and the list of
    its hours. `1 = 0` for no hour: nothing changed, nothing is read.
-#}
{% macro in_hours(hours) -%}
    {%- set date_column, hour_column = raw_partition_keys() -%}
    {%- if not hours -%}
        {{ return('1 = 0') }}
    {%- endif -%}
    {%- set by_day = {} -%}
    {%- for hour in hours -%}
        {%- do by_day.update({hour.date(): by_day.get(hour.date(), []) + [hour.hour]}) -%}
    {%- endfor -%}
    {#- One line: the condition lands inside models' SQL, which sqlfluff lints as rendered. -#}
    {%- set terms = [] -%}
    {%- for day, day_hours in by_day.items() | sort -%}
        {%- do terms.append(
            '(' ~ date_column ~ ' = ' ~ date_literal(day) ~ ' and ' ~ hour_column
            ~ ' in (' ~ (day_hours | unique | sort | join(', ')) ~ '))'
        ) -%}
    {%- endfor -%}
    {{ return('(' ~ terms | join(' or ') ~ ')') }}
{%- endmacro %}

{#- A condition keeping the dates of `days` in `column`; `1 = 0` for no day. -#}
{% macro in_days(days, column) -%}
    {%- if not days -%}
        {{ return('1 = 0') }}
    {%- endif -%}
    {%- set literals = [] -%}
    {%- for day in distinct_moments(days, 'day') -%}
        {%- do literals.append(date_literal(day)) -%}
    {%- endfor -%}
    {{ return(column ~ ' in (' ~ literals | join(', ') ~ ')') }}
{%- endmacro %}

{#-
    Rows of `relation` whose `id_column` the append-only model does not hold yet. Only
    the model's rows of `days` (by `day_column`, its partition) are looked at: an event's
    row lies in the partition of its day, whenever it landed.
-#}
{% macro not_held_yet(relation, id_column, days, day_column) -%}
    not exists (
        select 1
        from {{ this }} as held
        where
            held.{{ id_column }} = {{ relation }}.{{ id_column }}
            and {{ in_days(days, 'held.' ~ day_column) }}
    )
{%- endmacro %}

{#- `where` and the hours' condition; nothing when `hours` is none (a full read). -#}
{% macro where_in_hours(hours) -%}
    {%- if hours is not none %}
        where {{ in_hours(hours) }}
    {%- endif %}
{%- endmacro %}

{#-
    A timestamp as engines return it (a datetime, a date, or ISO text, as Athena's
    answers are) as a datetime without time zone; none stays none.
-#}
{% macro as_datetime(moment) -%}
    {%- if moment is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if moment is string -%}
        {{ return(modules.datetime.datetime.fromisoformat(moment.strip()[:26]).replace(tzinfo=none)) }}
    {%- endif -%}
    {%- if moment.hour is not defined -%}
        {{ return(modules.datetime.datetime(moment.year, moment.month, moment.day)) }}
    {%- endif -%}
    {{ return(moment.replace(tzinfo=none)) }}
{%- endmacro %}

{#- A moment as a datetime on its hour. -#}
{% macro on_the_hour(moment) -%}
    {%- set moment = as_datetime(moment) -%}
    {{ return(none if moment is none else moment.replace(minute=0, second=0, microsecond=0)) }}
{%- endmacro %}

{#- A moment as a datetime at the midnight of its day. -#}
{% macro on_the_day(moment) -%}
    {%- set moment = as_datetime(moment) -%}
    {{ return(none if moment is none else moment.replace(hour=0, minute=0, second=0, microsecond=0)) }}
{%- endmacro %}

{% macro date_literal(moment) -%}
    cast('{{ moment.strftime("%Y-%m-%d") }}' as date)
{%- endmacro %}

{#-
    A timestamp literal to the microsecond, as the lake and the models hold landing and
    event times: `timestamp '...'` takes its precision from its digits on Trino, DuckDB,
    PostgreSQL and Redshift (`cast('...' as timestamp)` is a millisecond timestamp on
    Trino, rounded either way, so a comparison with it went one way or the other with
    the microseconds). `rounded_down_to_ms` for a lower bound that must hold the value
    itself where the engine keeps only milliseconds (Athena, below).
-#}
{% macro timestamp_literal(moment, rounded_down_to_ms=false) -%}
    {{ return(adapter.dispatch('timestamp_literal')(moment, rounded_down_to_ms)) }}
{%- endmacro %}

{% macro default__timestamp_literal(moment, rounded_down_to_ms) -%}
    {%- if rounded_down_to_ms -%}
        {%- set moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000) -%}
    {%- endif -%}
    timestamp '{{ moment.strftime("%Y-%m-%d %H:%M:%S.%f") }}'
{%- endmacro %}

{#-
    Athena: a cast, as before the lake moved to Iceberg. Athena answers and reads
    timestamp literals to the millisecond; whether its engine takes a six-digit literal
    as timestamp(6) cannot be checked without Athena itself (the local one is Trino), so
    its comparisons keep the millisecond rounding the margin already covers.
-#}
{% macro athena__timestamp_literal(moment, rounded_down_to_ms) -%}
    {%- if rounded_down_to_ms -%}
        {%- set moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000) -%}
    {%- endif -%}
    cast('{{ moment.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#-
    The raw partitions of the hours from that of `start` on (by date, then by hour); of
    the relation named `relation_alias` when given.
-#}
{% macro hour_partitions_from(start, relation_alias=none) -%}
    {%- set prefix = relation_alias ~ '.' if relation_alias else '' -%}
    {%- set date_column, hour_column = raw_partition_keys() -%}
    {%- set date_column, hour_column = prefix ~ date_column, prefix ~ hour_column -%}
    ({{ date_column }} > {{ date_literal(start) }} or ({{ date_column }} = {{ date_literal(start) }} and {{ hour_column }} >= {{ start.hour }}))
{%- endmacro %}

{#-
    The first and last moments of what `query` returns (rows whose last two columns are
    a start and an end; nulls left out) as a pair; none when it returns none.
-#}
{% macro span_of(query) -%}
    {%- set starts, ends = [], [] -%}
    {%- for row in run_query(query).rows -%}
        {%- if row[-2] is not none -%}
            {%- do starts.append(as_datetime(row[-2])) -%}
        {%- endif -%}
        {%- if row[-1] is not none -%}
            {%- do ends.append(as_datetime(row[-1])) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return((starts | min, ends | max) if starts and ends else none) }}
{%- endmacro %}

{#- The days of the raw rows of `source_name` landed after `since` (by event_date). -#}
{% macro changed_event_days(source_name, since) -%}
    {{ return(distinct_moments(changed_event_hours(source_name, since), 'day')) }}
{%- endmacro %}
