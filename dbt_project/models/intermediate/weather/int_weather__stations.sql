-- Weather stations: every station the hub knows, from the station register (liste des stations,
-- fiches climatologiques) and from the observation files (hourly, daily, 6-minute). Grain: one row
-- per station_id. Position, name and altitude come from the register when it lists the station
-- (position_source 'registre'), else from the latest observation delivered ('observations').
-- has_observations: the station has delivered values (only those serve communes).
-- code_commune: the commune of the station's NUMBER (first five characters of NUM_POSTE, the
-- INSEE code of its commune when it was numbered), through the code normalisation
-- (current_commune: merged communes, arrondissements, Corsica 20xxx, Mayotte 985xx, Saint-
-- Barthélemy 97123, Saint-Martin 97127). commune_source says how: 'numero' (the number is a
-- current commune code) or the kind of mapping ('commune_deleguee', 'ancien_code', …);
-- 'hors_cog' for a number no commune of the COG has (TAAF 984xx): such a station is listed
-- here, with no commune, and serves communes only as their nearest station.
with observed as (
    select station_id, station_name, latitude, longitude, altitude_m, observed_at as seen_at
    from {{ ref('stg_meteo_france_horaire') }}
    union all
    select station_id, station_name, latitude, longitude, altitude_m, cast(climatological_day as timestamp)
    from {{ ref('stg_meteo_france_quotidien') }}
    union all
    select station_id, station_name, latitude, longitude, altitude_m, observed_at
    from {{ ref('stg_meteo_france_6min') }}
),

latest_observed as (
    select *
    from (
        select *, row_number() over (partition by station_id order by seen_at desc) as rank_latest
        from observed
    ) as ranked
    where rank_latest = 1
),

register as (
    select station_id, station_name, latitude, longitude, altitude_m, opened_on, wmo_id, network, register
    from {{ ref('stg_meteo_france_postes') }}
),

stations as (
    select
        coalesce(r.station_id, o.station_id) as station_id,
        coalesce(r.station_name, o.station_name) as station_name,
        case when r.latitude is not null then r.latitude else o.latitude end as latitude,
        case when r.latitude is not null then r.longitude else o.longitude end as longitude,
        coalesce(r.altitude_m, o.altitude_m) as altitude_m,
        case when r.latitude is not null then 'registre' when o.latitude is not null then 'observations' end as position_source,
        r.opened_on,
        r.wmo_id,
        r.network,
        r.register,
        o.station_id is not null as has_observations
    from register as r
    full outer join latest_observed as o on o.station_id = r.station_id
)

select
    s.station_id,
    s.station_name,
    s.latitude,
    s.longitude,
    s.altitude_m,
    s.position_source,
    s.opened_on,
    s.wmo_id,
    s.network,
    s.register,
    s.has_observations,
    substr(s.station_id, 1, 5) as code_commune_numero,
    {{ current_commune('substr(s.station_id, 1, 5)') }} as code_commune,
    coalesce(
        case {{ commune_code_kind('substr(s.station_id, 1, 5)') }} when 'commune' then 'numero' else {{ commune_code_kind('substr(s.station_id, 1, 5)') }} end,
        'hors_cog') as commune_source
from stations as s
