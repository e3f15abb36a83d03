{#-
    Merges that read only the target's partitions the new rows fall in.

    A merge matches new rows to the target by the unique key, and the key says nothing
    about partitions: without more, Athena and Trino read the whole target to find the
    matches, and every hourly merge costs the mart's whole history. Adding to the
    merge's condition that the target's partition column (or the column its partition
    transform reads) equals the new row's gives the engine what it needs: it filters the
    target's scan by the values the new rows hold (a dynamic filter, built from the
    smaller side of the join) and reads only their partitions. The key already implies
    the equality, so no match is lost.

    The changed days cannot be written into the predicate instead: dbt fixes
    `incremental_predicates` when it parses the project, and they are known only when
    the model runs (macros/landed_since.sql).

    Merges run on Athena (dbt-athena names the two sides `target` and `src`) and Trino
    (`DBT_INTERNAL_DEST`, `DBT_INTERNAL_SOURCE`); delete+insert elsewhere deletes by the
    key's values and takes no predicate here.
-#}
{% macro merge_within_partitions_of(column) -%}
    {%- set sides = {
        'athena': ('target', 'src'),
        'trino': ('DBT_INTERNAL_DEST', 'DBT_INTERNAL_SOURCE'),
    } -%}
    {%- if target.type not in sides -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set dest, new = sides[target.type] -%}
    {{ return([dest ~ '.' ~ column ~ ' = ' ~ new ~ '.' ~ column]) }}
{%- endmacro %}
