-- The latest state each charging point of the inventory reported (any dynamic layout):
-- status and occupancy of its last event, and when. Grain: one row per charge_point_id that
-- has at least one event.
select charge_point_id, observed_at as last_event_at, status, occupancy, source_format
from (
    select *, row_number() over (partition by charge_point_id order by observed_at desc) as rank_latest
    from {{ ref('int_ev__status_events') }}
) as ranked
where rank_latest = 1
