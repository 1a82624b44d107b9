-- Annual energy consumption of every territory (commune, EPCI, département, région of the
-- region, COG 2026) per year, energy and sector, plus an all-sector row (secteur = 'TOUS'),
-- with the SDES climate correction on the residential rows.
--  * Consumption sums the ORE cells whose value is known; cells under statistical secrecy at
--    the source are counted (cellules_secretisees) and the total is then a lower bound
--    (total_minorant). No publication secrecy is applied here (the publication layer does it);
--    this table carries what it needs: points_de_livraison (the contributors: delivery
--    points, Code de l'énergie D111-53) and bounds of the dominant delivery point's share.
--  * Climate correction (residential rows): CC = CR / (1 + p·(r − 1)), r = DJU / DJU_normal,
--    DJU base 17 °C over January–May and October–December; DJU of a territory = mean over its
--    communes of int_weather__commune_yearly; DJU_normal from the seed dju_normales (by
--    département), p from the seed parts_thermosensibles (by sector and energy).
-- Grain: one row per (niveau, code_territoire, annee, energie, secteur), for every territory
-- and every (year, energy) delivered for the region; a territory without data appears with
-- NULL measures and motif_absence.
{%- set min_coverage = var('energy_climate_min_season_coverage', 0.98) %}
{%- set sectors = ['RESIDENTIEL', 'TERTIAIRE', 'INDUSTRIE', 'AGRICULTURE', 'INCONNU', 'TOUS'] %}

with energy as (
    select e.*
    from {{ ref('int_energy__commune_sector_yearly') }} as e
    inner join {{ ref('int_territory__communes') }} as t on t.code_commune = e.code_commune
),

commune_cells as (  -- each sector of each commune, and its all-sector row
    select
        code_commune, year, energy, sector, consumption_mwh, delivery_points, source_cells,
        secret_cells, is_lower_bound, max_cell_mwh, max_cell_mean_mwh
    from energy
    union all
    select
        code_commune, year, energy, 'TOUS' as sector,
        sum(consumption_mwh),
        sum(delivery_points),
        sum(source_cells),
        sum(secret_cells),
        max(case when is_lower_bound then 1 else 0 end) = 1,
        max(max_cell_mwh),
        max(max_cell_mean_mwh)
    from energy
    group by code_commune, year, energy
),

consumption as (
    {{ rollup_territories('commune_cells', measures={
        'conso_mwh': 'sum(f.consumption_mwh)',
        'points_de_livraison': 'sum(f.delivery_points)',
        'cellules_livrees': 'sum(f.source_cells)',
        'cellules_secretisees': 'sum(f.secret_cells)',
        'total_minorant': 'max(case when f.is_lower_bound then 1 else 0 end) = 1',
        'conso_cellule_max_mwh': 'max(f.max_cell_mwh)',
        'conso_moyenne_cellule_max_mwh': 'max(f.max_cell_mean_mwh)',
    }, by=['year', 'energy', 'sector']) }}
),

-- heating-season days of the year: the year minus June–September (122 days)
commune_weather as (
    select
        w.code_commune,
        w.year,
        w.dju_17_heating_season,
        w.heating_season_days_with_data,
        (case when mod(w.year, 4) = 0 and (mod(w.year, 100) <> 0 or mod(w.year, 400) = 0) then 366 else 365 end) - 122
            as heating_season_days
    from {{ ref('int_weather__commune_yearly') }} as w
),

commune_climate as (
    -- a commune's season DJU counts when at least min_coverage of its days were observed; the
    -- missing days are filled pro rata (mean DJU of the observed days of the season)
    select
        code_commune,
        year,
        case when heating_season_days_with_data >= {{ min_coverage }} * heating_season_days
             then dju_17_heating_season * heating_season_days / heating_season_days_with_data
        end as dju_17_heating_season,
        cast(heating_season_days_with_data as double precision) / heating_season_days as season_coverage
    from commune_weather
),

climate as (
    {{ rollup_territories('commune_climate', measures={
        'dju_17_saison_chauffe': 'avg(f.dju_17_heating_season)',
        'communes_meteo': 'count(f.dju_17_heating_season)',
        'couverture_meteo_saison_chauffe': 'min(f.season_coverage)',
    }, by=['year']) }}
),

commune_normals as (
    select c.code_commune, n.dju_17_heating_season_normal
    from {{ ref('int_territory__communes') }} as c
    left join {{ ref('dju_normales') }} as n on n.code_departement = c.code_departement
),

normals as (
    {{ rollup_territories('commune_normals', measures={
        'dju_17_normal': 'avg(f.dju_17_heating_season_normal)',
        'communes_normale': 'count(f.dju_17_heating_season_normal)',
    }) }}
),

published as (  -- ORE's own totals for whole départements and régions
    select niveau, code_territoire, year, energy, sector, consumption_mwh, source_format
    from {{ ref('int_energy__published_totals') }}
),

periods as (
    select distinct year, energy from energy
    union
    select distinct p.year, p.energy
    from published as p
    inner join {{ ref('int_territory__levels') }} as l
        on l.niveau = p.niveau and l.code_territoire = p.code_territoire
),

sectors as (
    {% for s in sectors -%}
    select '{{ s }}' as sector{% if not loop.last %} union all {% endif %}
    {% endfor %}
),

grid as (
    select l.niveau, l.code_territoire, l.nom_territoire, l.population, l.nb_communes, l.entier, p.year, p.energy, s.sector
    from {{ ref('int_territory__levels') }} as l
    cross join periods as p
    cross join sectors as s
),

joined as (
    select
        g.*,
        c.code_territoire is not null as has_cells,
        c.conso_mwh,
        c.points_de_livraison,
        c.cellules_livrees,
        c.cellules_secretisees,
        c.total_minorant,
        c.conso_cellule_max_mwh,
        c.conso_moyenne_cellule_max_mwh,
        g.sector = 'RESIDENTIEL' as is_residential,
        cl.dju_17_saison_chauffe as dju_17_all,
        coalesce(cl.communes_meteo, 0) as communes_meteo,
        cl.couverture_meteo_saison_chauffe,
        case when n.communes_normale = g.nb_communes then n.dju_17_normal end as dju_17_normal_all,
        pt.climate_sensitive_share,
        -- ORE's published total covers the whole département / région: it is set against a
        -- level only when the territory holds all of its communes
        case when g.entier then pub.consumption_mwh end as published_mwh,
        case when g.entier then pub.source_format end as published_format,
        pub.niveau is not null as has_published
    from grid as g
    left join consumption as c
        on c.niveau = g.niveau and c.code_territoire = g.code_territoire
        and c.year = g.year and c.energy = g.energy and c.sector = g.sector
    left join climate as cl
        on cl.niveau = g.niveau and cl.code_territoire = g.code_territoire and cl.year = g.year
    left join normals as n
        on n.niveau = g.niveau and n.code_territoire = g.code_territoire
    left join {{ ref('parts_thermosensibles') }} as pt
        on pt.sector = g.sector and pt.energy = g.energy
    left join published as pub
        on pub.niveau = g.niveau and pub.code_territoire = g.code_territoire
       and pub.year = g.year and pub.energy = g.energy and pub.sector = g.sector
),

climate_terms as (
    select
        *,
        -- the territory's DJU only when every one of its communes has a usable season
        case when is_residential and communes_meteo = nb_communes then dju_17_all end as dju_17,
        case when is_residential then dju_17_normal_all end as dju_17_n,
        case when is_residential then climate_sensitive_share end as p
    from joined
),

corrected as (
    select
        *,
        dju_17 / nullif(dju_17_n, 0) as r
    from climate_terms
)

select
    niveau,
    code_territoire,
    nom_territoire,
    year as annee,
    case energy when 'electricity' then 'electricite' when 'gas' then 'gaz' end as energie,
    sector as secteur,
    cast(population as {{ dbt.type_bigint() }}) as population,
    conso_mwh,
    cast(points_de_livraison as {{ dbt.type_bigint() }}) as points_de_livraison,
    conso_mwh / nullif(population, 0) as conso_mwh_par_habitant,
    conso_mwh * 1000 / nullif(points_de_livraison, 0) as conso_kwh_par_point,
    cast(coalesce(cellules_livrees, 0) as {{ dbt.type_bigint() }}) as cellules_livrees,
    cast(coalesce(cellules_secretisees, 0) as {{ dbt.type_bigint() }}) as cellules_secretisees,
    coalesce(total_minorant, false) as total_minorant,
    conso_moyenne_cellule_max_mwh / nullif(conso_mwh, 0) as part_point_dominant_min,
    conso_cellule_max_mwh / nullif(conso_mwh, 0) as part_point_dominant_max,
    dju_17 as dju_17_saison_chauffe,
    case when is_residential then couverture_meteo_saison_chauffe end as couverture_meteo_saison_chauffe,
    dju_17_n as dju_17_normal,
    r as rapport_climatique,
    p as part_thermosensible,
    conso_mwh / nullif(1 + p * (r - 1), 0) as conso_corrigee_climat_mwh,
    published_mwh as conso_publiee_ore_mwh,
    published_format as source_conso_publiee_ore,
    nullif(concat_ws('; ',
        case
            when not has_cells and published_mwh is not null then 'aucune cellule communale livrée (total publié par l''Agence ORE seulement : conso_publiee_ore_mwh)'
            when not has_cells then 'aucune cellule de consommation livrée pour ce territoire, cette année, cette énergie et ce secteur'
            when conso_mwh is null then 'toutes les cellules livrées sont sous secret statistique à la source (consommation inconnue)'
        end,
        case when conso_mwh is not null and coalesce(points_de_livraison, 0) = 0
             then 'nombre de points de livraison inconnu' end,
        case when conso_mwh is not null and coalesce(population, 0) = 0
             then 'population du territoire inconnue' end,
        case when is_residential and communes_meteo = 0
             then 'pas de données météo pour cette année : correction climatique impossible'
             when is_residential and communes_meteo < nb_communes
             then 'données météo insuffisantes sur la saison de chauffe pour '
                  || cast(nb_communes - communes_meteo as {{ dbt.type_string() }}) || ' commune(s) sur '
                  || cast(nb_communes as {{ dbt.type_string() }})
                  || ' (moins de {{ (min_coverage * 100) | round(0) | int }} % des jours observés) : correction climatique impossible'
        end,
        case when is_residential and dju_17_n is null
             then 'DJU normal absent de dju_normales pour un département du territoire' end,
        case when is_residential and p is null
             then 'part thermosensible absente de parts_thermosensibles pour ce secteur et cette énergie' end
    ), '') as motif_absence
from corrected
