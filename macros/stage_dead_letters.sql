{#-
    The staging model of one source's dead letters. The five dead-letter tables share
    one layout, so their staging models share this body; each model still names its own
    source, one staging model per source table.
-#}
{% macro stage_dead_letters(dead_letter_source) -%}
with

source as (
    select * from {{ dead_letter_source }}
),

renamed as (
    select
        -- ids
        {{ dbt.concat([
            'kafka_topic',
            "'/'",
            'cast(kafka_partition as ' ~ dbt.type_string() ~ ')',
            "'/'",
            'cast(kafka_offset as ' ~ dbt.type_string() ~ ')',
        ]) }} as dead_letter_id,
        source as source_name,

        -- refusal
        reason_code,
        reason_message,
        raw_key,
        raw_value,

        -- timestamps
        kafka_published_at,
        dead_lettered_at,

        -- lineage
        kafka_topic,
        kafka_partition,
        kafka_offset
    from source
)

select * from renamed
{%- endmacro %}
