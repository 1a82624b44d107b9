{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ prune_current_series(source('formats', 'meteo_france_6min'), 'aaaammjjhhmn', 'observed_at', 'national') }}",
) }}
-- A big series: its current rows are a table kept incrementally (macros/current_series.sql).
-- Météo-France 6-minute rain (MN_DD files), current deliveries only. observed_at is the END of
-- the 6 minutes (AAAAMMJJHHMN, UTC): the row covers [observed_at - 6 min, observed_at).
-- Grain: (station_id, observed_at).
with current_observations as (
    {{ current_rows(source('formats', 'meteo_france_6min'), ['trim(num_poste)', 'aaaammjjhhmn'], scope='national',
                 where=changed_series_filter(source('formats', 'meteo_france_6min'), 'aaaammjjhhmn', 'observed_at', 'national')) }}
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
    _delivered_at,
    current_timestamp as _built_at
from current_observations
