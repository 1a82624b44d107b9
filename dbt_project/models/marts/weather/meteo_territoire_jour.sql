-- Météo quotidienne par territoire (commune, EPCI, département, région) et jour local
-- Europe/Paris. Valeur d'un territoire = moyenne simple (non pondérée) des valeurs de ses
-- communes ayant une donnée ce jour ; la valeur d'une commune vient de la station la plus
-- proche ayant des données ce jour (int_weather__commune_daily). Une ligne par territoire et
-- par jour du calendrier pour lequel au moins une station a des données.
with commune_daily as (
    select * from {{ ref('int_weather__commune_daily') }}
),

days as (
    select distinct local_day from commune_daily
),

rolled as (
    {{ rollup_territories('commune_daily', measures={
        'temperature_min_c': 'avg(cast(f.tmin_c as decimal(18, 6)))',
        'temperature_moyenne_c': 'avg(cast(f.tmean_c as decimal(18, 6)))',
        'temperature_max_c': 'avg(cast(f.tmax_c as decimal(18, 6)))',
        'pluie_mm': 'avg(cast(f.rain_mm as decimal(18, 6)))',
        'dju_18': 'avg(cast(f.dju_18 as decimal(18, 6)))',
    }, by=['local_day']) }}
),

filled as (
    select
        l.niveau,
        l.code_territoire,
        l.nom_territoire,
        d.local_day as jour,
        round(r.temperature_min_c, 2) as temperature_min_c,
        round(r.temperature_moyenne_c, 2) as temperature_moyenne_c,
        round(r.temperature_max_c, 2) as temperature_max_c,
        round(r.pluie_mm, 2) as pluie_mm,
        round(r.dju_18, 2) as dju_18
    from {{ ref('int_territory__levels') }} as l
    cross join days as d
    left join rolled as r
        on r.niveau = l.niveau and r.code_territoire = l.code_territoire and r.local_day = d.local_day
)

select
    *,
    nullif(concat_ws(' ; ',
        case when temperature_min_c is null or temperature_max_c is null
             then 'températures min/max et DJU : aucune station avec TN et TX observés sur au moins 80 % des heures de leur fenêtre ce jour' end,
        case when temperature_moyenne_c is null
             then 'température moyenne : aucune station avec T observée sur au moins 80 % des heures du jour local' end,
        case when pluie_mm is null
             then 'pluie : aucune station avec RR1 observé sur au moins 80 % des heures du jour local' end
    ), '') as motif_absence
from filled
