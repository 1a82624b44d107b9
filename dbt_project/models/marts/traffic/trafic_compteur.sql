-- Trafic routier annuel par compteur (tronçon compté d'un partenaire) : trafic moyen journalier
-- (TMJ, véhicules/jour) sur les jours locaux (Europe/Paris) COMPLETS, c'est-à-dire dont toutes
-- les heures sont mesurées (23, 24 ou 25 heures) ; un jour incomplet est écarté, jamais compté
-- comme un jour de faible trafic. Une ligne par producteur, compteur et année civile (un
-- identifiant de compteur est celui du partenaire qui publie les comptages).
select
    p.nom as producteur,
    y.counter_id as id_compteur,
    c.site_name as nom_site,
    y.code_commune,
    y.year as annee,
    y.days_measured as jours_mesures,
    y.complete_days as jours_complets,
    round(y.avg_daily_flow_veh, 1) as tmj_tous_jours,
    y.complete_working_days as jours_ouvres_complets,
    round(y.avg_daily_flow_working_days, 1) as tmj_jours_ouvres,
    round(100.0 * y.peak_hour_flow_sum / nullif(y.daily_flow_sum, 0), 2) as part_heure_de_pointe_pct,
    round(1.0 * y.congestion_hours_sum / nullif(y.congestion_days, 0), 2) as heures_congestion_par_jour,
    y.complete_rainy_days as jours_pluie_complets,
    round(y.avg_daily_flow_rainy_days, 1) as tmj_jours_pluie,
    y.complete_dry_days as jours_secs_complets,
    round(y.avg_daily_flow_dry_days, 1) as tmj_jours_secs,
    nullif(concat_ws(' ; ',
        case when y.complete_days = 0
             then 'tmj_tous_jours, part_heure_de_pointe_pct : aucun jour complet (toutes les heures mesurées) dans l''année' end,
        case when y.complete_days > 0 and y.daily_flow_sum = 0
             then 'part_heure_de_pointe_pct : trafic nul sur les jours complets' end,
        case when y.complete_days > 0 and y.complete_working_days = 0
             then 'tmj_jours_ouvres : aucun jour ouvré complet dans l''année' end,
        case when y.congestion_days = 0
             then 'heures_congestion_par_jour : aucun jour dont le taux d''occupation est mesuré à toutes les heures' end,
        case when y.complete_days > 0 and y.complete_days_with_weather = 0
             then 'tmj_jours_pluie, tmj_jours_secs : pas de données de pluie pour la commune du compteur' end,
        case when y.complete_days_with_weather > 0 and y.complete_rainy_days = 0
             then 'tmj_jours_pluie : aucun jour de pluie (≥ 1 mm) parmi les jours complets' end,
        case when y.complete_days_with_weather > 0 and y.complete_dry_days = 0
             then 'tmj_jours_secs : aucun jour sec parmi les jours complets' end,
        case when y.code_commune is null
             then 'code_commune : compteur absent de la liste des sites ou non localisé' end
    ), '') as motif_absence
from {{ ref('int_traffic__counter_yearly') }} as y
left join {{ ref('int_traffic__counters') }} as c on c.counts_key = y.counts_key and c.counter_id = y.counter_id
left join {{ source('registry', 'partners') }} as p on p.partner_id = y.partner_id
