-- Lighting failure tickets of every partner (GMAO exports). Times were naive Europe/Paris and
-- are UTC instants since the raw load; no resolution = still open.
-- Grain: one row per (dataset_key, ticket_id).
with source as (
    {{ current_rows(source('formats', 'eclairage_tickets'), ['numero_ticket']) }}
)

select
    partner_id,
    dataset_key,
    numero_ticket as ticket_id,
    {{ current_commune('insee') }} as code_commune,
    insee as code_commune_delivered,
    id_point_lumineux as point_id,
    date_signalement as opened_at,
    date_resolution as resolved_at,
    type_panne as failure_type,
    canal as report_channel,
    _delivery_id,
    _source_line,
    _delivered_at
from source
