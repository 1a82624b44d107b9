-- Usage des points de charge (IRVE dynamique) par territoire (commune, EPCI, département,
-- région) et année civile, sur les jours locaux (Europe/Paris) couverts par le flux d'états :
-- * taux_occupation_pct = heures occupées (occupe ou reserve) / heures observées, sommées sur
--   tous les points du territoire (pondéré par le temps, pas une moyenne de moyennes) ;
-- * taux_en_service_pct = heures en service / heures observées ;
-- un état vaut de son horodatage jusqu'à l'événement suivant du point
-- (int_ev__charge_point_daily). points_observes et part_point_dominant_pct servent au secret
-- statistique (donnée commerciale de l'opérateur, appliqué à la publication).
-- Une ligne par territoire et par année du flux ; un territoire sans point observé apparaît
-- avec des taux nuls et motif_absence.
with years as (
    select distinct year from {{ ref('int_ev__charge_point_yearly') }}
),

rolled as (
    {{ rollup_territories(ref('int_ev__charge_point_yearly'), measures={
        'points_observes': 'count(*)',
        'heures_observees': 'sum(f.observed_hours)',
        'heures_occupees': 'sum(f.occupied_hours)',
        'heures_en_service': 'sum(f.in_service_hours)',
        'heures_occupees_point_max': 'max(f.occupied_hours)',
    }, by=['year']) }}
),

filled as (
    select
        l.niveau,
        l.code_territoire,
        l.nom_territoire,
        y.year as annee,
        coalesce(r.points_observes, 0) as points_observes,
        round(coalesce(r.heures_observees, 0), 2) as heures_observees,
        round(100.0 * r.heures_occupees / nullif(r.heures_observees, 0), 2) as taux_occupation_pct,
        round(100.0 * r.heures_en_service / nullif(r.heures_observees, 0), 2) as taux_en_service_pct,
        round(100.0 * r.heures_occupees_point_max / nullif(r.heures_occupees, 0), 2) as part_point_dominant_pct
    from {{ ref('int_territory__levels') }} as l
    cross join years as y
    left join rolled as r
        on r.niveau = l.niveau and r.code_territoire = l.code_territoire and r.year = y.year
)

select
    *,
    nullif(concat_ws(' ; ',
        case when points_observes = 0
             then 'taux_occupation_pct, taux_en_service_pct, part_point_dominant_pct : aucun point de charge du territoire dans le flux d''états cette année' end,
        case when points_observes > 0 and heures_observees = 0
             then 'taux_occupation_pct, taux_en_service_pct : aucune durée observée' end,
        case when points_observes > 0 and heures_observees > 0 and part_point_dominant_pct is null
             then 'part_point_dominant_pct : aucune heure occupée' end
    ), '') as motif_absence
from filled
