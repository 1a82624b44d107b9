{{ config(materialized='view') }}
-- Status events of every charging point, whatever the layout: the national dynamic schema
-- (stg_irve_dynamique) and the QualiCharge export mapped to roaming ids
-- (stg_irve_dynamique_qualicharge; its events without a known roaming id are left out here and
-- counted by a test there). Two layouts reporting the same point at the same instant: the latest
-- delivery wins. Grain: (charge_point_id, observed_at).
with events as (
    select charge_point_id, observed_at, status, occupancy, _delivered_at, _delivery_sequence, 'irve_dynamique' as source_format
    from {{ ref('stg_irve_dynamique') }}
    union all
    select charge_point_id, observed_at, status, occupancy, _delivered_at, _delivery_sequence, 'irve_dynamique_qualicharge'
    from {{ ref('stg_irve_dynamique_qualicharge') }}
    where charge_point_id is not null
)

select charge_point_id, observed_at, status, occupancy, source_format, _delivered_at
from (
    select *, row_number() over (partition by charge_point_id, observed_at
                                 order by _delivered_at desc, _delivery_sequence desc) as rank_latest
    from events
) as ranked
where rank_latest = 1
