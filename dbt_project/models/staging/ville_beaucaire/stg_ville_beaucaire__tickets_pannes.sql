-- Lighting failure tickets of the commune of Beaucaire (GMAO export). Times were naive Europe/Paris and are
-- UTC instants since the raw load; a ticket without resolution is still open.
with source as (
    {{ current_rows(source('raw', 'ville_beaucaire__tickets_pannes'), ['numero_ticket']) }}
)

select
    numero_ticket as ticket_id,
    insee as code_commune,
    id_point_lumineux as point_id,
    date_signalement as opened_at,
    date_resolution as resolved_at,
    type_panne as failure_type,
    canal as report_channel,
    _delivery_id,
    _source_line,
    _delivered_at
from source
