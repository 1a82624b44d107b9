-- Météo-France daily « autres paramètres » (Q_DD files): sunshine, radiation, humidity,
-- pressure, evapotranspiration, snow, per station and climatological day, as published.
-- Grain: (station_id, climatological_day).
with current_days as (
    {{ current_rows(source('formats', 'meteo_france_quotidien_autres'), ['trim(num_poste)', 'aaaammjj'], scope='national') }}
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
    inst as sunshine_min,
    glot as global_radiation_j_cm2,
    un as humidity_min_pct,
    ux as humidity_max_pct,
    um as humidity_mean_pct,
    pmerm as sea_level_pressure_hpa,
    etpmon as evapotranspiration_mm,
    hneigef as fresh_snow_cm,
    neigetotx as snow_depth_max_cm,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at
from current_days
