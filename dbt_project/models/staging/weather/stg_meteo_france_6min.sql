-- Météo-France 6-minute rain (MN_DD files), current deliveries only. observed_at is the END of
-- the 6 minutes (AAAAMMJJHHMN, UTC): the row covers [observed_at - 6 min, observed_at).
-- Grain: (station_id, observed_at).
with current_observations as (
    {{ current_rows(source('formats', 'meteo_france_6min'), ['trim(num_poste)', 'aaaammjjhhmn'], scope='national') }}
)

select
    partner_id,
    dataset_key,
    trim(num_poste) as station_id,
    trim(nom_usuel) as station_name,
    lat as latitude,
    lon as longitude,
    alti as altitude_m,
    aaaammjjhhmn as observed_at,
    rr as rain_mm,
    qrr as rain_quality_code,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at
from current_observations
