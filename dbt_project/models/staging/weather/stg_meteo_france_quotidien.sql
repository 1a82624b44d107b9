-- Météo-France daily station values (Q_DD « RR-T-Vent » files), current deliveries only.
-- The values are Météo-France's climatological day J AS PUBLISHED (never recomputed):
-- tmin_c over 18 UTC J-1 → 18 UTC J, tmax_c and rain_mm over 06 UTC J → 06 UTC J+1, tmean_c the
-- mean of the day's hourly temperatures. Station numbers are national: two datasets delivering the
-- same station and day deliver the same value, the latest wins. Grain: (station_id, climatological_day).
with current_days as (
    {{ current_rows(source('formats', 'meteo_france_quotidien'), ['trim(num_poste)', 'aaaammjj'], scope='national') }}
)

select
    partner_id,
    dataset_key,
    trim(num_poste) as station_id,
    trim(nom_usuel) as station_name,
    lat as latitude,
    lon as longitude,
    alti as altitude_m,
    aaaammjj as climatological_day,
    rr as rain_mm,
    qrr as rain_quality_code,
    tn as temperature_min_c,
    qtn as temperature_min_quality_code,
    tx as temperature_max_c,
    qtx as temperature_max_quality_code,
    tm as temperature_mean_c,
    qtm as temperature_mean_quality_code,
    ffm as wind_speed_mean_ms,
    fxi as wind_gust_max_ms,
    drr as rain_duration_min,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at
from current_days
