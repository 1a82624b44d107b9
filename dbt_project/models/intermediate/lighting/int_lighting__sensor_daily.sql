{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['sensors_key', 'sensor_id', 'local_day'],
) }}
-- Lamp sensors per Europe/Paris local day: hours lit, hours lit in daylight and the energy
-- they stand for. Grain: one row per (sensors_key, sensor_id, local_day).
--
-- Each reading stands for the 10-minute step that starts at its timestamp
-- (lamp_sensor_step_minutes): a lamp seen 'on' at 12:00 counts as lit from 12:00 to 12:10, so
-- hours_lit = readings on × 10 / 60 and energy = power_w × 10 / 60 / 1000 kWh per reading on. Lost
-- readings are not imputed: compare readings_count with expected_readings (138, 144 or 150 for
-- a 23-, 24- or 25-hour day). "In daylight" = readings on whose timestamp is strictly between
-- sunrise and sunset (Sun's centre at −0.833°) of the light point's commune that local day
-- (int_sun__commune_daily, the commune's location). The sensors' point_id is a light point of the
-- inventory the registry links the sensor dataset to (role `inventory`, registry.dataset_links),
-- which gives the commune; a sensor whose point is not in that inventory has no commune and
-- null daylight measures.
--
-- Incremental: rebuilds the local days touched by new deliveries (or the Dagster window); a
-- full refresh gives the same rows. A change of the inventory (a point moving commune) needs a
-- full refresh.
{%- set step_hours = lamp_sensor_step_minutes() ~ ' / 60.0' %}
{%- if is_incremental() %}
{%- set rebuild = rebuild_filter(days_to_rebuild(ref('stg_eclairage_capteurs'), local_day('observed_at')),
                                 'observed_at', local_day('observed_at')) %}
{%- endif %}

with readings as (
    select
        dataset_key as sensors_key,
        sensor_id,
        point_id,
        observed_at,
        {{ local_day('observed_at') }} as local_day,
        is_on,
        power_w
    from {{ ref('stg_eclairage_capteurs') }}
    {% if is_incremental() %}
    where {{ rebuild }}
    {% endif %}
),

sensor_points as (  -- the points of the inventory each sensor dataset is linked to
    select l.dataset_key as sensors_key, p.point_id, min(p.code_commune) as code_commune
    from {{ source('registry', 'dataset_links') }} as l
    inner join {{ ref('int_lighting__points') }} as p on p.inventory_key = l.linked_dataset_key
    where l.role = 'inventory'
    group by l.dataset_key, p.point_id
),

located as (
    select
        r.*,
        p.code_commune,
        s.sunrise_at,
        s.sunset_at,
        r.is_on and r.observed_at > s.sunrise_at and r.observed_at < s.sunset_at as is_on_in_daylight
    from readings as r
    left join sensor_points as p on p.sensors_key = r.sensors_key and p.point_id = r.point_id
    left join {{ ref('int_sun__commune_daily') }} as s
        on s.code_commune = p.code_commune
       and s.local_day = r.local_day
)

select
    sensors_key,
    sensor_id,
    local_day,
    -- one point per sensor and day in practice; max() keeps the grain if a sensor is moved
    max(point_id) as point_id,
    max(code_commune) as code_commune,
    max(sunrise_at) as sunrise_at,
    max(sunset_at) as sunset_at,
    count(*) as readings_count,
    sum(case when is_on then 1 else 0 end) as readings_on_count,
    sum(case when is_on and power_w is null then 1 else 0 end) as readings_on_without_power,
    cast({{ local_day_hours('local_day') }} * 60 / {{ lamp_sensor_step_minutes() }} as {{ dbt.type_int() }}) as expected_readings,
    sum(case when is_on then 1 else 0 end) * {{ step_hours }} as hours_lit,
    case when max(sunrise_at) is not null then
        sum(case when is_on_in_daylight then 1 else 0 end) * {{ step_hours }}
    end as hours_lit_in_daylight,
    -- powers summed as exact decimals: a float sum depends on the order of the rows, a rebuild must not
    coalesce(sum(case when is_on then cast(power_w as {{ dbt.type_numeric() }}) end), 0) * {{ step_hours }} / 1000.0 as energy_kwh,
    case when max(sunrise_at) is not null then
        coalesce(sum(case when is_on_in_daylight then cast(power_w as {{ dbt.type_numeric() }}) end), 0) * {{ step_hours }} / 1000.0
    end as energy_in_daylight_kwh,
    current_timestamp as _built_at
from located
group by sensors_key, sensor_id, local_day
