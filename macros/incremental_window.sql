{#-
    The start of the window an append-only incremental model looks at again: its
    newest landing time, less the `incremental_lookback_hours` variable. Looking back
    picks up the rest of a batch that was still being published at the last run (its
    files share one landing time); the anti-join of `not_loaded_yet` then drops rows
    already appended, such as a batch replayed after a crash, which lands again later.
-#}
{% macro incremental_window_start(time_column) -%}
    {{ dbt.dateadd('hour', -1 * var('incremental_lookback_hours'), 'max(' ~ time_column ~ ')') }}
{%- endmacro %}

{#- Rows of `relation` whose id the incremental model does not hold yet. -#}
{% macro not_loaded_yet(relation, id_column) -%}
    not exists (
        select 1
        from {{ this }} as loaded
        where loaded.{{ id_column }} = {{ relation }}.{{ id_column }}
    )
{%- endmacro %}
