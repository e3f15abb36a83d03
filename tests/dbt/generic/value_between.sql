{#-
    Rows whose value lies outside [min_value, max_value]; either bound may be null to
    leave that side open. Nulls pass: not_null says whether they may exist.
    Written here because the package hub that dbt_utils comes from is out of reach
    of this project's machines (see the README).
-#}
{% test value_between(model, column_name, min_value=none, max_value=none) %}

select {{ column_name }}
from {{ model }}
where
    {{ column_name }} is not null
    and (
        {% if min_value is not none -%}
        {{ column_name }} < {{ min_value }}
        {%- else -%}
        1 = 0
        {%- endif %}
        or {% if max_value is not none -%}
        {{ column_name }} > {{ max_value }}
        {%- else -%}
        1 = 0
        {%- endif %}
    )

{% endtest %}
