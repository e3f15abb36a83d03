{#-
    MetricFlow's time spine (dbt_project/models/semantic_models/): one row per UTC hour,
    the first at the `time_spine_start` variable, the last before `time_spine_end`: the
    calendar metrics are joined to when a period without rows must still appear.

    The hours are numbered by five digits cross-joined (up to 100,000 hours, 11 years)
    and added to the start with dbt.dateadd, so the SQL is the same on every engine and
    compiling it asks the warehouse nothing (dbt.date_spine counts the periods with a
    query at compile time).
-#}
{%- set start = modules.datetime.datetime.strptime(var('time_spine_start', '2024-01-01'), '%Y-%m-%d') %}
{%- set end = modules.datetime.datetime.strptime(var('time_spine_end', '2034-01-01'), '%Y-%m-%d') %}
{%- set hours = (end - start).days * 24 %}
{%- if hours <= 0 or hours > 100000 %}
    {{ exceptions.raise_compiler_error(
        "The time spine spans " ~ start.date() ~ " to " ~ end.date() ~ ": set time_spine_start"
        ~ " and time_spine_end (YYYY-MM-DD, with --vars) at most 11 years apart, end after start") }}
{%- endif %}

with

digits as (
    select 0 as digit
    union all
    select 1 as digit
    union all
    select 2 as digit
    union all
    select 3 as digit
    union all
    select 4 as digit
    union all
    select 5 as digit
    union all
    select 6 as digit
    union all
    select 7 as digit
    union all
    select 8 as digit
    union all
    select 9 as digit
),

hour_numbers as (
    select
        ones.digit
        + 10 * tens.digit
        + 100 * hundreds.digit
        + 1000 * thousands.digit
        + 10000 * ten_thousands.digit as hour_number
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
    cross join digits as ten_thousands
),

final as (
    select
        {{ dbt.dateadd(
            'hour', 'hour_number', "cast('" ~ start.strftime('%Y-%m-%d %H:%M:%S') ~ "' as timestamp)"
        ) }} as hour_at
    from hour_numbers
    where hour_number < {{ hours }}
)

select * from final
