{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}

{#-
    Append-only, with a window per source: the five sources land independently, so
    one source's newest dead letter says nothing about another's.
-#}
with

dead_letters as (
    select * from {{ ref('int_dead_letters_unioned') }}
),

{% if is_incremental() -%}
    window_starts as (
        select
            source_name,
            {{ incremental_window_start('dead_lettered_at') }} as since_at
        from {{ this }}
        group by source_name
    ),

{% endif -%}

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
        cast(dead_lettered_at as date) as dead_lettered_on
    from dead_letters
)

select final.*
from final
{% if is_incremental() -%}
    left join window_starts
        on final.source_name = window_starts.source_name
    where
        (window_starts.since_at is null or final.dead_lettered_at >= window_starts.since_at)
        and {{ not_loaded_yet('final', 'dead_letter_id') }}
{%- endif %}
