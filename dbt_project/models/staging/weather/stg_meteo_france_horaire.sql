{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ prune_current_series(source('formats', 'meteo_france_horaire'), 'aaaammjjhh', 'observed_at', 'national') }}",
) }}
-- A big series: its current rows are a table kept incrementally (macros/current_series.sql).
-- Météo-France hourly station observations (H_DD files), every dataset of the format, current
-- deliveries only. Station numbers are national: two datasets delivering the same station and
-- hour deliver the same observation, the latest wins. Grain: one row per (station_id, observed_at). observed_at is the END of the observed hour
-- (AAAAMMJJHH, UTC): the row covers [observed_at - 1 h, observed_at).
with current_observations as (
    {{ current_rows(source('formats', 'meteo_france_horaire'), ['trim(num_poste)', 'aaaammjjhh'], scope='national',
                 where=changed_series_filter(source('formats', 'meteo_france_horaire'), 'aaaammjjhh', 'observed_at', 'national')) }}
)

select
    partner_id,
    dataset_key,
    trim(num_poste) as station_id,
    trim(nom_usuel) as station_name,
    lat as latitude,
    lon as longitude,
    alti as altitude_m,
    aaaammjjhh as observed_at,
    rr1 as rain_mm,
    qrr1 as rain_quality_code,
    t as temperature_c,
    qt as temperature_quality_code,
    tn as temperature_min_c,
    qtn as temperature_min_quality_code,
    tx as temperature_max_c,
    qtx as temperature_max_quality_code,
    u as humidity_pct,
    ff as wind_speed_ms,
    dd as wind_direction_deg,
    ins as sunshine_min,
    glo as global_radiation_j_cm2,
    -- INSEE code of the commune where the station stood when it was numbered (first five
    -- characters of NUM_POSTE): not always a current commune (merged communes, municipal
    -- arrondissements, Corsica '20', Mayotte '985'), so it goes through the code normalisation;
    -- NULL when no commune of the COG has it (TAAF stations 984xx)
    {{ current_commune('substr(trim(num_poste), 1, 5)') }} as station_code_commune,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at,
    current_timestamp as _built_at
from current_observations
