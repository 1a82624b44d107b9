-- Trafic routier annuel par territoire (commune, EPCI, département, région), à partir des
-- compteurs de la métropole situés dans le territoire. Chaque mesure est calculée sur les
-- compteurs du territoire (pas une moyenne de moyennes communales) :
-- * tmj_moyen_par_compteur, tmj_jours_ouvres : moyenne, sur les compteurs, de leur TMJ annuel
--   (jours complets, resp. jours ouvrés complets) ;
-- * part_heure_de_pointe_pct : somme des débits de l'heure de pointe de chaque jour complet /
--   somme des trafics journaliers (pondérée par le trafic) ;
-- * heures_congestion : heures d'occupation au-dessus du seuil par compteur et par jour ;
-- * tmj_jours_pluie, tmj_jours_secs : moyennes sur les seuls compteurs ayant à la fois des jours
--   de pluie et des jours secs complets, pour que l'écart compare les mêmes tronçons.
-- * troncons_tmja, tmja_moyen_troncons, part_poids_lourds_pct : tronçons des routes nationales et
--   départementales dont le TMJA annuel est publié (int_traffic__section_yearly ; jamais les
--   campagnes d'une semaine) ; la part de poids lourds est pondérée par le trafic.
-- Une ligne par territoire et par année ayant des comptages ; un territoire sans compteur
-- apparaît avec des mesures nulles et motif_absence.
with years as (
    select distinct year from {{ ref('int_traffic__counter_yearly') }}
    union
    select distinct year from {{ ref('int_traffic__section_yearly') }} where measure = 'tmja_annuel'
),

sections as (  -- annual TMJA per section (national and departmental roads), never a campaign week
    select code_commune, year, aadt_veh, heavy_vehicle_share_pct
    from {{ ref('int_traffic__section_yearly') }}
    where measure = 'tmja_annuel' and aadt_veh is not null
),

sections_rolled as (
    {{ rollup_territories('sections', measures={
        'troncons_tmja': 'count(*)',
        'tmja_moyen_troncons': 'avg(f.aadt_veh)',
        'troncons_poids_lourds': 'count(f.heavy_vehicle_share_pct)',
        'part_poids_lourds_pct': 'sum(f.heavy_vehicle_share_pct * f.aadt_veh) / nullif(sum(case when f.heavy_vehicle_share_pct is not null then f.aadt_veh end), 0)',
    }, by=['year']) }}
),

rolled as (
    {{ rollup_territories(ref('int_traffic__counter_yearly'), measures={
        'compteurs': 'count(f.avg_daily_flow_veh)',
        'tmj_moyen_par_compteur': 'avg(f.avg_daily_flow_veh)',
        'tmj_jours_ouvres': 'avg(f.avg_daily_flow_working_days)',
        'part_heure_de_pointe_pct': '100.0 * sum(f.peak_hour_flow_sum) / nullif(sum(f.daily_flow_sum), 0)',
        'heures_congestion': '1.0 * sum(f.congestion_hours_sum) / nullif(sum(f.congestion_days), 0)',
        'compteurs_pluie_sec': 'count(case when f.avg_daily_flow_rainy_days is not null and f.avg_daily_flow_dry_days is not null then 1 end)',
        'tmj_jours_pluie': 'avg(case when f.avg_daily_flow_dry_days is not null then f.avg_daily_flow_rainy_days end)',
        'tmj_jours_secs': 'avg(case when f.avg_daily_flow_rainy_days is not null then f.avg_daily_flow_dry_days end)',
        'jours_complets_avec_meteo': 'sum(f.complete_days_with_weather)',
    }, by=['year']) }}
),

filled as (
    select
        l.niveau,
        l.code_territoire,
        l.nom_territoire,
        y.year as annee,
        coalesce(r.compteurs, 0) as compteurs,
        round(r.tmj_moyen_par_compteur, 1) as tmj_moyen_par_compteur,
        round(r.tmj_jours_ouvres, 1) as tmj_jours_ouvres,
        round(r.part_heure_de_pointe_pct, 2) as part_heure_de_pointe_pct,
        round(r.heures_congestion, 2) as heures_congestion,
        coalesce(r.compteurs_pluie_sec, 0) as compteurs_pluie_sec,
        round(r.tmj_jours_pluie, 1) as tmj_jours_pluie,
        round(r.tmj_jours_secs, 1) as tmj_jours_secs,
        round(100.0 * (r.tmj_jours_pluie - r.tmj_jours_secs) / nullif(r.tmj_jours_secs, 0), 2) as ecart_pluie_sec_pct,
        coalesce(r.jours_complets_avec_meteo, 0) as jours_complets_avec_meteo,
        coalesce(sr.troncons_tmja, 0) as troncons_tmja,
        round(sr.tmja_moyen_troncons, 1) as tmja_moyen_troncons,
        round(case when sr.troncons_poids_lourds > 0 then sr.part_poids_lourds_pct end, 2) as part_poids_lourds_pct
    from {{ ref('int_territory__levels') }} as l
    cross join years as y
    left join rolled as r
        on r.niveau = l.niveau and r.code_territoire = l.code_territoire and r.year = y.year
    left join sections_rolled as sr
        on sr.niveau = l.niveau and sr.code_territoire = l.code_territoire and sr.year = y.year
)

select
    niveau,
    code_territoire,
    nom_territoire,
    annee,
    compteurs,
    tmj_moyen_par_compteur,
    tmj_jours_ouvres,
    part_heure_de_pointe_pct,
    heures_congestion,
    compteurs_pluie_sec,
    tmj_jours_pluie,
    tmj_jours_secs,
    ecart_pluie_sec_pct,
    troncons_tmja,
    tmja_moyen_troncons,
    part_poids_lourds_pct,
    nullif(concat_ws(' ; ',
        case when compteurs = 0
             then 'mesures des compteurs (tmj_*, part_heure_de_pointe_pct, heures_congestion, ecart_pluie_sec_pct) : aucun compteur routier avec un jour complet de comptage dans le territoire cette année' end,
        case when compteurs > 0 and tmj_jours_ouvres is null
             then 'tmj_jours_ouvres : aucun jour ouvré complet' end,
        case when compteurs > 0 and part_heure_de_pointe_pct is null
             then 'part_heure_de_pointe_pct : trafic nul sur les jours complets' end,
        case when compteurs > 0 and heures_congestion is null
             then 'heures_congestion : aucun jour dont le taux d''occupation est mesuré à toutes les heures' end,
        case when compteurs > 0 and jours_complets_avec_meteo = 0
             then 'tmj_jours_pluie, tmj_jours_secs, ecart_pluie_sec_pct : pas de données de pluie pour les communes des compteurs' end,
        case when compteurs > 0 and jours_complets_avec_meteo > 0 and compteurs_pluie_sec = 0
             then 'tmj_jours_pluie, tmj_jours_secs, ecart_pluie_sec_pct : aucun compteur avec à la fois des jours de pluie et des jours secs complets' end,
        case when compteurs_pluie_sec > 0 and ecart_pluie_sec_pct is null
             then 'ecart_pluie_sec_pct : trafic nul les jours secs' end,
        case when troncons_tmja = 0
             then 'tmja_moyen_troncons, part_poids_lourds_pct : aucun tronçon routier avec un TMJA mesuré dans le territoire cette année' end,
        case when troncons_tmja > 0 and part_poids_lourds_pct is null
             then 'part_poids_lourds_pct : part de poids lourds non mesurée sur les tronçons du territoire' end
    ), '') as motif_absence
from filled
