{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ prune_changed_across([source('formats', 'irve_dynamique'), source('formats', 'irve_dynamique_qualicharge')],
                                      'horodatage', 'observed_at', resets=[source('formats', 'irve_qualicharge_lien_pdc')]) }}",
) }}
-- Status events of every charging point, whatever the layout: the national dynamic schema
-- (stg_irve_dynamique) and the QualiCharge export mapped to roaming ids
-- (stg_irve_dynamique_qualicharge; its events without a known roaming id are left out here and
-- counted by a test there). Two layouts reporting the same point at the same instant: the latest
-- delivery wins. Grain: (charge_point_id, observed_at).
--
-- Kept incrementally, like the series it reads (macros/current_series.sql,
-- changed_ranges_across): a build recomputes the instants that deliveries of either layout
-- changed since the last one, across both layouts; a new correspondence (QualiCharge's id →
-- roaming id) recomputes everything. Read four times by the day model.
{%- set layouts = [source('formats', 'irve_dynamique'), source('formats', 'irve_dynamique_qualicharge')] %}
{%- set resets = [source('formats', 'irve_qualicharge_lien_pdc')] %}
with events as {{ inline_cte() }} (
    select charge_point_id, observed_at, status, occupancy, dataset_key, _delivery_id, _delivered_at,
           _delivery_sequence, 'irve_dynamique' as source_format
    from {{ ref('stg_irve_dynamique') }}
    where {{ changed_across_filter(layouts, 'horodatage', 'observed_at', resets) }}
    union all
    select charge_point_id, observed_at, status, occupancy, dataset_key, _delivery_id, _delivered_at,
           _delivery_sequence, 'irve_dynamique_qualicharge'
    from {{ ref('stg_irve_dynamique_qualicharge') }}
    where charge_point_id is not null
      and {{ changed_across_filter(layouts, 'horodatage', 'observed_at', resets) }}
),

-- (no window over every event: the instants two layouts both report are found by a narrow
-- aggregate and only their events are compared, as in macros/current_rows.sql; the winner is one
-- fixed-size number: the latest processed delivery, then the latest landed)
repeated as (
    select charge_point_id, observed_at,
           max({{ processing_order('_delivered_at', '_delivery_sequence') }}) as winner
    from events
    group by charge_point_id, observed_at
    having count(*) > 1
)

select e.charge_point_id, e.observed_at, e.status, e.occupancy, e.source_format, e.dataset_key,
       e._delivery_id, e._delivered_at, current_timestamp as _built_at
from events as e
left join repeated as r
    on r.charge_point_id = e.charge_point_id and r.observed_at = e.observed_at
where r.winner is null
   or {{ processing_order('e._delivered_at', 'e._delivery_sequence') }} = r.winner
