-- Éclairage public par territoire et par année : parc (inventaire courant), consommation des
-- armoires, allumage en journée (capteurs), pannes et délais de réparation.
-- Grain : une ligne par (niveau, code_territoire, annee), pour chaque territoire de la région à
-- chaque niveau (commune, EPCI, département, région) et chaque année où une donnée d'éclairage
-- datée existe (relevés d'armoires, capteurs, tickets). Chaque mesure est agrégée depuis les
-- lignes de base du territoire (rollup_territories) : la médiane d'un EPCI est celle de ses
-- tickets, pas une moyenne des médianes communales. Une mesure nulle a son motif dans
-- motif_absence, jamais un 0 silencieux.
with dated_years as (
    select distinct annee from (
        select cast(extract(year from local_day) as {{ dbt.type_int() }}) as annee from {{ ref('int_lighting__cabinet_daily') }}
        union all
        select cast(extract(year from local_day) as {{ dbt.type_int() }}) from {{ ref('int_lighting__sensor_daily') }}
        union all
        select cast(extract(year from opened_local_day) as {{ dbt.type_int() }}) from {{ ref('int_lighting__tickets') }}
    ) as y
),

years as (  -- the years of dated lighting data; with inventories only, the inventories' years
    select annee from dated_years
    union
    select distinct inventory_year from {{ ref('int_lighting__points') }}
    where inventory_year is not null and not exists (select 1 from dated_years)
),

-- cabinets whose consumption is known on at least one day of the year, in the numbering of the
-- inventory their readings are linked to (registry role `inventory`)
metered_cabinets as (
    select distinct l.linked_dataset_key as inventory_key, c.cabinet_id,
           cast(extract(year from c.local_day) as {{ dbt.type_int() }}) as annee
    from {{ ref('int_lighting__cabinet_daily') }} as c
    inner join {{ source('registry', 'dataset_links') }} as l
        on l.dataset_key = c.readings_key and l.role = 'inventory'
    where c.consumption_kwh is not null
),

-- inventories whose failure tickets cover the year (at least one ticket opened in it)
ticket_inventories as (
    select distinct l.linked_dataset_key as inventory_key,
           cast(extract(year from t.opened_local_day) as {{ dbt.type_int() }}) as annee
    from {{ ref('int_lighting__tickets') }} as t
    inner join {{ source('registry', 'dataset_links') }} as l
        on l.dataset_key = t.tickets_key and l.role = 'inventory'
),

-- the current inventory, applied to every year
points_years as (
    select
        p.code_commune,
        y.annee,
        p.is_led,
        p.lamp_technology,
        p.power_w,
        mc.cabinet_id is not null as is_on_metered_cabinet,
        ti.inventory_key is not null as is_covered_by_tickets
    from {{ ref('int_lighting__points') }} as p
    cross join years as y
    left join metered_cabinets as mc
        on mc.inventory_key = p.inventory_key
       and mc.cabinet_id = p.cabinet_id
       and mc.annee = y.annee
    left join ticket_inventories as ti
        on ti.inventory_key = p.inventory_key
       and ti.annee = y.annee
),

cabinet_days as (
    select code_commune, cast(extract(year from local_day) as {{ dbt.type_int() }}) as annee, readings_key || '/' || cabinet_id as cabinet_id, consumption_kwh
    from {{ ref('int_lighting__cabinet_daily') }}
),

-- communes with a known cabinet consumption in the year, with their population
metered_communes as (
    select m.code_commune, m.annee, c.population
    from (
        select distinct code_commune, annee from cabinet_days where consumption_kwh is not null
    ) as m
    inner join {{ ref('int_territory__communes') }} as c on c.code_commune = m.code_commune
),

sensor_days as (
    select
        code_commune,
        cast(extract(year from local_day) as {{ dbt.type_int() }}) as annee,
        sensors_key || '/' || sensor_id as sensor_id,
        hours_lit_in_daylight,
        energy_in_daylight_kwh,
        readings_count,
        expected_readings
    from {{ ref('int_lighting__sensor_daily') }}
),

tickets as (
    select code_commune, cast(extract(year from opened_local_day) as {{ dbt.type_int() }}) as annee, repair_hours
    from {{ ref('int_lighting__tickets') }}
),

points_by_territory as (
    {{ rollup_territories('points_years', measures={
        'points_lumineux': 'count(*)',
        'points_technologie_connue': 'count(f.lamp_technology)',
        'points_led': 'sum(case when f.is_led then 1 else 0 end)',
        'puissance_connue_w': 'sum(f.power_w)',
        'points_armoires_relevees': 'sum(case when f.is_on_metered_cabinet then 1 else 0 end)',
        'points_suivis_pannes': 'sum(case when f.is_covered_by_tickets then 1 else 0 end)',
    }, by=['annee']) }}
),

cabinets_by_territory as (
    {{ rollup_territories('cabinet_days', measures={
        'conso_armoires_kwh': 'sum(f.consumption_kwh)',
        'armoires_relevees': 'count(distinct case when f.consumption_kwh is not null then f.cabinet_id end)',
    }, by=['annee']) }}
),

metered_population_by_territory as (
    {{ rollup_territories('metered_communes', measures={
        'population_communes_relevees': 'sum(f.population)',
    }, by=['annee']) }}
),

sensors_by_territory as (
    {{ rollup_territories('sensor_days', measures={
        'capteurs_suivis': 'count(distinct f.sensor_id)',
        'heures_allumage_en_journee': 'sum(f.hours_lit_in_daylight)',
        'energie_allumage_en_journee_kwh': 'sum(f.energy_in_daylight_kwh)',
        'releves_recus': 'sum(f.readings_count)',
        'releves_attendus': 'sum(f.expected_readings)',
    }, by=['annee']) }}
),

tickets_by_territory as (
    {{ rollup_territories('tickets', measures={
        'pannes': 'count(*)',
        'pannes_resolues': 'count(f.repair_hours)',
        'delai_median_reparation_h': 'percentile_cont(0.5) within group (order by f.repair_hours)',
    }, by=['annee']) }}
),

measures as (
    select
        l.niveau,
        l.code_territoire,
        l.nom_territoire,
        y.annee,
        l.population,
        p.points_lumineux,
        100.0 * p.points_led / nullif(p.points_technologie_connue, 0) as part_led_pct,
        p.puissance_connue_w / 1000.0 as puissance_installee_kw,
        c.armoires_relevees,
        case when c.conso_armoires_kwh is not null then coalesce(p.points_armoires_relevees, 0) end as points_armoires_relevees,
        c.conso_armoires_kwh,
        c.conso_armoires_kwh / nullif(p.points_armoires_relevees, 0) as kwh_par_point_lumineux,
        c.conso_armoires_kwh / nullif(l.population, 0) as kwh_par_habitant,
        mp.population_communes_relevees,
        s.capteurs_suivis,
        s.heures_allumage_en_journee,
        s.energie_allumage_en_journee_kwh,
        100.0 * s.releves_recus / nullif(s.releves_attendus, 0) as taux_releves_capteurs_pct,
        -- a territory is followed for failures when a partner that sends tickets that year owns
        -- light points in it (or tickets were opened in it): then no ticket is a real 0
        case when coalesce(p.points_suivis_pannes, 0) > 0 or t.pannes > 0 then coalesce(t.pannes, 0) end as pannes,
        case when coalesce(p.points_suivis_pannes, 0) > 0 or t.pannes > 0 then coalesce(t.pannes_resolues, 0) end as pannes_resolues,
        t.delai_median_reparation_h,
        1000.0 * coalesce(t.pannes, 0) / nullif(p.points_suivis_pannes, 0) as pannes_pour_1000_points
    from {{ ref('int_territory__levels') }} as l
    cross join years as y
    left join points_by_territory as p
        on p.niveau = l.niveau and p.code_territoire = l.code_territoire and p.annee = y.annee
    left join cabinets_by_territory as c
        on c.niveau = l.niveau and c.code_territoire = l.code_territoire and c.annee = y.annee
    left join metered_population_by_territory as mp
        on mp.niveau = l.niveau and mp.code_territoire = l.code_territoire and mp.annee = y.annee
    left join sensors_by_territory as s
        on s.niveau = l.niveau and s.code_territoire = l.code_territoire and s.annee = y.annee
    left join tickets_by_territory as t
        on t.niveau = l.niveau and t.code_territoire = l.code_territoire and t.annee = y.annee
)

select
    *,
    nullif(concat_ws('; ',
        case when points_lumineux is null then 'aucun inventaire de points lumineux' end,
        case when points_lumineux is not null and part_led_pct is null then 'technologie des lampes inconnue' end,
        case when points_lumineux is not null and puissance_installee_kw is null then 'puissance des lampes inconnue' end,
        case when conso_armoires_kwh is null then 'aucun relevé d''armoire sur l''année' end,
        case when conso_armoires_kwh is not null and kwh_par_point_lumineux is null
             then 'aucun point lumineux inventorié sur les armoires relevées' end,
        case when capteurs_suivis is null then 'aucun capteur de luminaire' end,
        case when capteurs_suivis is not null and heures_allumage_en_journee is null
             then 'lever et coucher du soleil inconnus' end,
        case when pannes is null then 'aucun ticket de panne transmis pour ce territoire' end,
        case when pannes is not null and delai_median_reparation_h is null then 'aucune panne résolue' end,
        case when pannes is not null and pannes_pour_1000_points is null then 'aucun point lumineux suivi pour les pannes' end
    ), '') as motif_absence
from measures
