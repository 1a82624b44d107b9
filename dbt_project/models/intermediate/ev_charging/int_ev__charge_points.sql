-- Charging points of the current IRVE inventories (the national schema and the QualiCharge
-- export; a point both list comes from the latest delivery) with the commune they stand in and their
-- power class. Grain: one row per charge_point_id.
-- code_commune: by code, checked by coordinates (locate_by_code_and_coordinates, macros/geo.sql):
-- the operator's code_insee_commune (normalised: an arrondissement counts in its commune) when
-- the point's coordinates lie within var location_tolerance_km (20 km) of that commune; the
-- commune nearest to the coordinates when the code's commune is farther (commune_source
-- 'coordonnees_code_eloigne': operators mix up codes, e.g. 36210 Sarzay on motorway stations
-- all over France; code_commune_declared and distance_to_declared_km keep both values); the
-- nearest commune when there is no code; NULL ('non_localise') when neither locates the point,
-- which then stays out of the territorial roll-ups.
-- power_class (nominal power P, kW; the classes of the national barometer of charging points,
-- boundaries also those of the EU AFIR regulation at 22, 50 and 150 kW):
--   'up_to_7_4kw'  P ≤ 7.4      normal AC charging (single phase, up to 32 A)
--   '7_4_to_22kw'  7.4 < P ≤ 22 accelerated AC charging (three phase)
--   '22_to_50kw'   22 < P < 50  fast AC / low-power DC
--   '50_to_150kw'  50 ≤ P < 150 fast DC charging
--   '150kw_plus'   P ≥ 150      high-power (ultra-fast) DC charging
--   NULL           power not given
with listed as (
    select
        partner_id, dataset_key, charge_point_id, station_id, station_name, site_type, code_commune, latitude,
        longitude, power_kw, has_type_2, has_combo_ccs, has_chademo, has_type_ef, access_condition, commissioned_on,
        'irve_statique' as source_format, _delivered_at, _delivery_sequence
    from {{ ref('stg_irve_statique') }}
    union all
    select
        partner_id, dataset_key, charge_point_id, station_id, station_name, site_type, code_commune, latitude,
        longitude, power_kw, has_type_2, has_combo_ccs, has_chademo, has_type_ef, cast(null as {{ dbt.type_string() }}),
        cast(null as date), 'irve_statique_qualicharge', _delivered_at, _delivery_sequence
    from {{ ref('stg_irve_statique_qualicharge') }}
),

points as (  -- a point listed in both layouts: the latest delivery wins
    select *
    from (
        select *, row_number() over (partition by charge_point_id order by _delivered_at desc, _delivery_sequence desc) as rank_latest
        from listed
    ) as ranked
    where rank_latest = 1
),

located as (
    {{ locate_by_code_and_coordinates('points', ['charge_point_id']) }}
)

select
    p.charge_point_id,
    p.station_id,
    p.station_name,
    p.site_type,
    p.partner_id,
    p.dataset_key,
    l.code_commune,
    l.commune_source,
    l.code_commune_declared,
    l.distance_to_declared_km,
    p.latitude,
    p.longitude,
    p.power_kw,
    case
        when p.power_kw is null then null
        when p.power_kw <= 7.4 then 'up_to_7_4kw'
        when p.power_kw <= 22 then '7_4_to_22kw'
        when p.power_kw < 50 then '22_to_50kw'
        when p.power_kw < 150 then '50_to_150kw'
        else '150kw_plus'
    end as power_class,
    p.has_type_2,
    p.has_combo_ccs,
    p.has_chademo,
    p.has_type_ef,
    p.access_condition,
    p.commissioned_on,
    p.source_format
from points as p
inner join located as l on l.charge_point_id = p.charge_point_id
