with

source as (
    select * from {{ source('smartcity', 'dead_letters') }}
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

        -- the record as sent: text where it is text, and always the exact bytes
        raw_key,
        raw_key_bytes,
        raw_value,
        raw_value_bytes,

        -- timestamps
        kafka_published_at,
        dead_lettered_at,

        -- lineage
        kafka_topic,
        kafka_partition,
        kafka_offset,

        -- partition
        dead_letter_date
    from source
)

select * from renamed
