{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}

{#-
    Append-only, with a watermark per source: the five sources land independently, so
    one source's newest dead letter says nothing about another's.
-#}
with

dead_letters as (
    select * from {{ ref('int_dead_letters_unioned') }}
),

{% if is_incremental() -%}
    watermarks as (
        select
            source_name,
            max(dead_lettered_at) as watermark_at
        from {{ this }}
        group by source_name
    ),

{% endif -%}

new_dead_letters as (
    select dead_letters.*
    from dead_letters
    {% if is_incremental() -%}
        left join watermarks
            on dead_letters.source_name = watermarks.source_name
        where
            watermarks.watermark_at is null
            or dead_letters.dead_lettered_at > watermarks.watermark_at
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
        cast(dead_lettered_at as date) as dead_lettered_on
    from new_dead_letters
)

select * from final
