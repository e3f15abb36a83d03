{#-
    The filter of an append-only incremental model: rows landed after the newest one
    the model already holds. The landing job processes one source's batches in order,
    so landed_at only grows within a source; the staging dedupe keeps the first landed
    copy of an event, so a later copy never reaches the model.
-#}
{% macro landed_after_watermark(column) -%}
    {{ column }} > (
        select coalesce(max({{ column }}), cast('1970-01-01 00:00:00' as timestamp))
        from {{ this }}
    )
{%- endmacro %}
