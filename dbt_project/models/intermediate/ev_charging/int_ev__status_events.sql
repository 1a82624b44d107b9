{{ config(materialized='table') }}  -- read four times by the day model: computed once per build
-- Status events of every charging point, whatever the layout: the national dynamic schema
-- (stg_irve_dynamique) and the QualiCharge export mapped to roaming ids
-- (stg_irve_dynamique_qualicharge; its events without a known roaming id are left out here and
-- counted by a test there). Two layouts reporting the same point at the same instant: the latest
-- delivery wins. Grain: (charge_point_id, observed_at).
with events as {{ inline_cte() }} (
    select charge_point_id, observed_at, status, occupancy, _delivered_at, _delivery_sequence, 'irve_dynamique' as source_format
    from {{ ref('stg_irve_dynamique') }}
    union all
    select charge_point_id, observed_at, status, occupancy, _delivered_at, _delivery_sequence, 'irve_dynamique_qualicharge'
    from {{ ref('stg_irve_dynamique_qualicharge') }}
    where charge_point_id is not null
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

select e.charge_point_id, e.observed_at, e.status, e.occupancy, e.source_format, e._delivered_at
from events as e
left join repeated as r
    on r.charge_point_id = e.charge_point_id and r.observed_at = e.observed_at
where r.winner is null
   or {{ processing_order('e._delivered_at', 'e._delivery_sequence') }} = r.winner
