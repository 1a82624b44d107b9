{#- Rows whose combination of columns is not unique (dbt_utils-like, no package download). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Values outside [min_value, max_value] (either bound optional); nulls pass. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, where=none) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and (false
  {%- if min_value is not none %} or {{ column_name }} < {{ min_value }}{% endif %}
  {%- if max_value is not none %} or {{ column_name }} > {{ max_value }}{% endif %})
  {%- if where %} and ({{ where }}){% endif %}
{% endtest %}

{#- A null value must come with a reason in another column. -#}
{% test null_has_reason(model, column_name, reason_column) %}
select {{ column_name }}, {{ reason_column }}
from {{ model }}
where {{ column_name }} is null and {{ reason_column }} is null
{% endtest %}
