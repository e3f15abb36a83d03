{{ config(
    materialized='incremental',
    incremental_strategy='append',
    partitioned_by=['dead_lettered_on'],
    properties={'partitioning': "ARRAY['dead_lettered_on']"},
    sort=['dead_lettered_at'],
    meta={'window_column': 'dead_lettered_on'},
) }}

{#-
    Append-only, by what landed (macros/landed_since.sql): a dead letter's landing time
    is `dead_lettered_at`, and its partition that time's day. Each run reads the days with
    dead letters landed since its last run and appends those it does not hold yet.
-#}
{%- set since = landed_since('dead_lettered_at') %}
{%- set days = changed_dead_letter_days(since) %}

with

dead_letters as (
    select * from {{ ref('stg_smartcity__dead_letters') }}
    {%- if days is not none %}
        where
            {{ in_days(days, 'dead_letter_date') }}
            and dead_lettered_at > {{ timestamp_literal(since) }}
    {%- endif %}
),

final as (
    select
        dead_letter_id,
        source_name,
        reason_code,
        reason_message,
        kafka_topic,
        kafka_partition,
        kafka_offset,
        kafka_published_at,
        dead_lettered_at,
        dead_letter_date as dead_lettered_on
    from dead_letters
)

select final.*
from final
{%- if days is not none %}
    where {{ not_held_yet('final', 'dead_letter_id', days, 'dead_lettered_on') }}
{%- endif %}
