-- Fréquentation annuelle par site de comptage des mobilités (schéma national comptage des
-- mobilités : vélos, piétons, voitures…) : passages moyens par jour local (Europe/Paris) COMPLET,
-- tous canaux (sens) du site pour le mode ; un jour incomplet est écarté, jamais compté comme
-- un jour de faible fréquentation. Une ligne par producteur, site, mode et année.
with days as (
    select d.*, cast(extract(year from d.local_day) as {{ dbt.type_int() }}) as year
    from {{ ref('int_mobility__site_daily') }} as d
),

sites as (
    select l.dataset_key as channels_key, s.counter_id as site_id, s.site_name, s.code_commune, s.latitude, s.longitude
    from {{ ref('stg_comptage_mobilites_site') }} as s
    inner join {{ source('registry', 'dataset_links') }} as l
        on l.linked_dataset_key = s.dataset_key and l.role = 'sites'
),

located as (
    {{ locate_by_code_and_coordinates('sites', ['channels_key', 'site_id']) }}
),

yearly as (
    select
        measures_key, partner_id, channels_key, site_id, mobility_type, year,
        count(*) as days_measured,
        count(case when is_complete then 1 end) as complete_days,
        avg(case when is_complete then passages end) as mean_daily_passages,
        max(case when is_complete then passages end) as max_daily_passages
    from days
    group by measures_key, partner_id, channels_key, site_id, mobility_type, year
)

select
    p.nom as producteur,
    y.site_id as id_site,
    s.site_name as nom_site,
    y.mobility_type as mode,
    l.code_commune,
    y.year as annee,
    y.days_measured as jours_mesures,
    y.complete_days as jours_complets,
    round(y.mean_daily_passages, 1) as passages_moyens_par_jour,
    y.max_daily_passages as passages_jour_max,
    nullif(concat_ws(' ; ',
        case when y.complete_days = 0
             then 'passages_moyens_par_jour, passages_jour_max : aucun jour complet dans l''année' end
    ), '') as motif_absence
from yearly as y
left join sites as s on s.channels_key = y.channels_key and s.site_id = y.site_id
left join located as l on l.channels_key = y.channels_key and l.site_id = y.site_id
left join {{ source('registry', 'partners') }} as p on p.partner_id = y.partner_id
-- the sites of the territory only
where l.code_commune in (select code_commune from {{ ref('int_territory__communes') }})
