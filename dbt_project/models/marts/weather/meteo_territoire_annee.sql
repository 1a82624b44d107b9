-- Météo annuelle par territoire (commune, EPCI, département, région) et année civile locale.
-- Une année n'est publiée pour une commune que si ses jours avec donnée couvrent au moins
-- 90 % des jours de la période (année, ou saison de chauffe pour dju_17_saison_chauffe) :
-- une somme partielle serait biaisée ; sinon la valeur est nulle et motif_absence le dit.
-- Valeur d'un territoire = moyenne simple des communes ayant une valeur publiable.
-- Une ligne par territoire et par année du calendrier ayant des données météo.
{%- set min_coverage = 0.9 %}
with commune_yearly as (
    select
        y.code_commune,
        y.year,
        y.days_with_data,
        case when y.days_with_data >= {{ min_coverage }} * y.days_in_year then y.dju_18 end as dju_18,
        case when y.heating_season_days_with_data >= {{ min_coverage }} * s.heating_season_days
             then y.dju_17_heating_season end as dju_17_heating_season,
        case when y.rain_days_with_data >= {{ min_coverage }} * y.days_in_year then y.rain_mm end as rain_mm,
        case when y.rain_days_with_data >= {{ min_coverage }} * y.days_in_year then y.rainy_days end as rainy_days
    from {{ ref('int_weather__commune_yearly') }} as y
    inner join (
        select year, count(*) as heating_season_days
        from {{ ref('int_calendar__days') }}
        where month not between 6 and 9
        group by year
    ) as s on s.year = y.year
),

years as (
    select distinct year from commune_yearly
),

rolled as (
    {{ rollup_territories('commune_yearly', measures={
        'dju_18': 'avg(cast(f.dju_18 as decimal(18, 6)))',
        'dju_17_saison_chauffe': 'avg(cast(f.dju_17_heating_season as decimal(18, 6)))',
        'pluie_mm': 'avg(cast(f.rain_mm as decimal(18, 6)))',
        'jours_de_pluie': 'avg(cast(f.rainy_days as decimal(18, 6)))',
        'jours_avec_donnees': 'max(f.days_with_data)',
    }, by=['year']) }}
),

filled as (
    select
        l.niveau,
        l.code_territoire,
        l.nom_territoire,
        y.year as annee,
        round(r.dju_18, 1) as dju_18,
        round(r.dju_17_saison_chauffe, 1) as dju_17_saison_chauffe,
        round(r.pluie_mm, 1) as pluie_mm,
        round(r.jours_de_pluie, 1) as jours_de_pluie,
        coalesce(r.jours_avec_donnees, 0) as jours_avec_donnees
    from {{ ref('int_territory__levels') }} as l
    cross join years as y
    left join rolled as r
        on r.niveau = l.niveau and r.code_territoire = l.code_territoire and r.year = y.year
)

select
    *,
    nullif(concat_ws(' ; ',
        case when dju_18 is null
             then 'dju_18 : températures TN/TX disponibles moins de 90 % des jours de l''année' end,
        case when dju_17_saison_chauffe is null
             then 'dju_17_saison_chauffe : températures TN/TX disponibles moins de 90 % des jours de la saison de chauffe (janvier-mai, octobre-décembre)' end,
        case when pluie_mm is null
             then 'pluie_mm, jours_de_pluie : pluie disponible moins de 90 % des jours de l''année' end
    ), '') as motif_absence
from filled
