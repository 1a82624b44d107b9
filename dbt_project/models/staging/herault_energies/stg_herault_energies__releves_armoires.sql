-- Daily readings of the syndicate's lighting-cabinet meters: the cumulative index (kWh) at the
-- end of the Europe/Paris local day reading_day. Consumption is derived in int_lighting__cabinet_daily.
with source as (
    {{ current_rows(source('raw', 'herault_energies__releves_armoires'), ['id_armoire', 'date_releve']) }}
)

select
    id_armoire as cabinet_id,
    insee as code_commune,
    date_releve as reading_day,
    index_kwh,
    _delivery_id,
    _source_line,
    _delivered_at
from source
