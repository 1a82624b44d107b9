-- The latest state each charging point of the inventory reported (any dynamic layout):
-- status and occupancy of its last event, and when. Grain: one row per charge_point_id that
-- has at least one event.
-- (A narrow aggregate joined back, not a window ranking every event: int_ev__status_events holds
-- one event per point and instant.)
with latest as (
    select charge_point_id, max(observed_at) as last_event_at
    from {{ ref('int_ev__status_events') }}
    group by charge_point_id
)

select e.charge_point_id, e.observed_at as last_event_at, e.status, e.occupancy, e.source_format
from {{ ref('int_ev__status_events') }} as e
inner join latest as l
    on l.charge_point_id = e.charge_point_id and l.last_event_at = e.observed_at
