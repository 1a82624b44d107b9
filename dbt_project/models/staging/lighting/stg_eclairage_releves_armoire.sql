-- Daily readings of lighting-cabinet meters: the cumulative index (kWh) at the end of the
-- Europe/Paris local day reading_day. Consumption is derived in int_lighting__cabinet_daily.
-- Grain: one row per (dataset_key, cabinet_id, reading_day).
with source as (
    {{ current_rows(source('formats', 'eclairage_releves_armoire'), ['id_armoire', 'date_releve']) }}
)

select
    partner_id,
    dataset_key,
    id_armoire as cabinet_id,
    {{ current_commune('insee') }} as code_commune,
    insee as code_commune_delivered,
    date_releve as reading_day,
    index_kwh,
    _delivery_id,
    _source_line,
    _delivered_at
from source
