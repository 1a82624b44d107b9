-- Lighting failure tickets of every partner, with the repair time. Grain: one row per
-- (tickets_key, ticket_id). repair_hours = resolved_at − opened_at in hours; it is null
-- for a ticket still open and for one whose resolution precedes its opening (a GMAO entry
-- error: repair_status says which, rather than a negative time).
with tickets as (
    select * from {{ ref('stg_eclairage_tickets') }}
)

select
    partner_id as owner_partner_id,
    dataset_key as tickets_key,
    ticket_id,
    code_commune,
    point_id,
    opened_at,
    resolved_at,
    {{ local_day('opened_at') }} as opened_local_day,
    failure_type,
    report_channel,
    case
        when resolved_at is null then 'open'
        when resolved_at < opened_at then 'resolved_before_opened'
        else 'resolved'
    end as repair_status,
    case when resolved_at >= opened_at then {{ hours_between('opened_at', 'resolved_at') }} end as repair_hours,
    _delivery_id,
    _source_line
from tickets
