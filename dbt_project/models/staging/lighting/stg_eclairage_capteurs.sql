{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ prune_current_series(source('formats', 'eclairage_capteurs'), 'horodatage', 'observed_at', 'dataset') }}",
) }}
-- A big series: its current rows are a table kept incrementally (macros/current_series.sql).
-- Lamp sensors: on/off state every 10 minutes and power when on. point_id is a light point of
-- the inventory the registry links the sensor dataset to (role `inventory`). A state other
-- than on/off is kept in power_state with is_on null.
-- Grain: one row per (dataset_key, sensor_id, observed_at).
with source as (
    {{ current_rows(source('formats', 'eclairage_capteurs'), ['id_capteur', 'horodatage'],
                 where=changed_series_filter(source('formats', 'eclairage_capteurs'), 'horodatage', 'observed_at', 'dataset')) }}
)

select
    partner_id,
    dataset_key,
    id_capteur as sensor_id,
    id_point_lumineux as point_id,
    horodatage as observed_at,
    lower(trim(etat)) as power_state,
    case lower(trim(etat)) when 'on' then true when 'off' then false end as is_on,
    puissance_w as power_w,
    _delivery_id,
    _source_line,
    _delivered_at,
    current_timestamp as _built_at
from source
