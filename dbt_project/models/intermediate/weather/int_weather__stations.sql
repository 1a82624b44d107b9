-- Weather stations: number, name, latest delivered location and the commune they stand in.
-- Grain: one row per station_id.
-- code_commune: the commune of the station's NUMBER (first five characters of NUM_POSTE, the
-- INSEE code of its commune when it was numbered), through the code normalisation
-- (current_commune: merged communes, arrondissements, Corsica 20xxx, Mayotte 985xx, Saint-
-- Barthélemy 97123, Saint-Martin 97127). commune_source says how: 'numero' (the number is a
-- current commune code) or the kind of mapping ('commune_deleguee', 'ancien_code', …);
-- 'hors_cog' for a number no commune of the COG has (TAAF 984xx): such a station is listed
-- here, with no commune, and serves communes only as their nearest station.
with observed as (
    select
        station_id,
        station_name,
        latitude,
        longitude,
        altitude_m,
        observed_at,
        row_number() over (partition by station_id order by observed_at desc) as rank_latest
    from {{ ref('stg_meteo_france_horaire') }}
)

select
    o.station_id,
    o.station_name,
    o.latitude,
    o.longitude,
    o.altitude_m,
    substr(o.station_id, 1, 5) as code_commune_numero,
    {{ current_commune('substr(o.station_id, 1, 5)') }} as code_commune,
    coalesce(
        case {{ commune_code_kind('substr(o.station_id, 1, 5)') }} when 'commune' then 'numero' else {{ commune_code_kind('substr(o.station_id, 1, 5)') }} end,
        'hors_cog') as commune_source
from observed as o
where o.rank_latest = 1
