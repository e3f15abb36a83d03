{{ config(
    materialized='incremental',
    incremental_strategy='append',
    partitioned_by=['dead_lettered_on'],
    properties={'partitioning': "ARRAY['dead_lettered_on']"},
    sort=['dead_lettered_at'],
    meta={'window_column': 'dead_lettered_on'},
) }}

{#-
    Append-only, with a window per source: the five sources land independently, so
    one source's newest dead letter says nothing about another's. A source with no dead
    letter in the model yet is read whole.
-#}
{%- set since = incremental_window_start('dead_lettered_at', 'source_name') %}

with

dead_letters as (
    select * from {{ ref('stg_smartcity__dead_letters') }}
    {%- if since is not none %}
        where
            source_name not in ('{{ since.keys() | sort | join("', '") }}')
            {%- for source_name, start in since.items() | sort %}
                or (
                    source_name = '{{ source_name }}'
                    and {{ day_partitions_from(start, 'dead_letter_date') }}
                    and dead_lettered_at >= {{ timestamp_literal(start) }}
                )
            {%- endfor %}
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
{%- if since is not none %}
    where {{ not_loaded_yet('final', 'dead_letter_id', 'dead_lettered_at', since.values() | min) }}
{%- endif %}
