-- Bornes de recharge par territoire (commune, EPCI, département, région) : inventaire ACTUEL
-- des points de charge ouverts au public des opérateurs partenaires (IRVE statique, dernière
-- livraison) et usage de la dernière année du flux d'états (recharge_territoire_annee).
-- Classes de puissance nominale P (kW), celles du baromètre national des points de recharge
-- (bornes aussi de la classification AFIR à 22, 50 et 150 kW) : P ≤ 7,4 ; 7,4 < P ≤ 22 ;
-- 22 < P < 50 ; 50 ≤ P < 150 ; P ≥ 150 (int_ev__charge_points).
-- Un territoire sans point compte 0 point (l'inventaire de l'opérateur est complet) ; les taux
-- y sont nuls avec motif_absence. Une ligne par territoire.
with points as (
    select p.charge_point_id, p.station_id, p.code_commune, p.power_kw, p.power_class,
           s.status as latest_status
    from {{ ref('int_ev__charge_points') }} as p
    left join {{ ref('int_ev__charge_point_latest_state') }} as s on s.charge_point_id = p.charge_point_id
),

inventory as (
    select count(*) as points from points
),

rolled as (
    {{ rollup_territories('points', measures={
        'points_de_charge': 'count(*)',
        'stations': 'count(distinct f.station_id)',
        'puissance_installee_kw': 'cast(sum(f.power_kw) as ' ~ type_double() ~ ')',
        'points_jusqu_a_7_4kw': "count(case when f.power_class = 'up_to_7_4kw' then 1 end)",
        'points_7_4_a_22kw': "count(case when f.power_class = '7_4_to_22kw' then 1 end)",
        'points_22_a_50kw': "count(case when f.power_class = '22_to_50kw' then 1 end)",
        'points_50_a_150kw': "count(case when f.power_class = '50_to_150kw' then 1 end)",
        'points_150kw_et_plus': "count(case when f.power_class = '150kw_plus' then 1 end)",
        'points_puissance_inconnue': 'count(case when f.power_class is null then 1 end)',
        'points_avec_etat': 'count(f.latest_status)',
        'points_hors_service_dernier_etat': "count(case when f.latest_status = 'out_of_service' then 1 end)",
    }) }}
),

latest_usage as (
    select u.*
    from {{ ref('recharge_territoire_annee') }} as u
    where u.annee = (select max(annee) from {{ ref('recharge_territoire_annee') }})
),

filled as (
    select
        l.niveau,
        l.code_territoire,
        l.nom_territoire,
        l.population,
        -- counts are 0 where the inventory has no point, NULL only when no inventory was delivered
        case when i.points > 0 then coalesce(r.points_de_charge, 0) end as points_de_charge,
        case when i.points > 0 then coalesce(r.stations, 0) end as stations,
        case when i.points > 0 then round(1000.0 * coalesce(r.points_de_charge, 0) / nullif(l.population, 0), 4) end
            as points_pour_1000_habitants,
        case when i.points > 0 then round(coalesce(r.puissance_installee_kw, 0), 1) end as puissance_installee_kw,
        case when i.points > 0 then coalesce(r.points_jusqu_a_7_4kw, 0) end as points_jusqu_a_7_4kw,
        case when i.points > 0 then coalesce(r.points_7_4_a_22kw, 0) end as points_7_4_a_22kw,
        case when i.points > 0 then coalesce(r.points_22_a_50kw, 0) end as points_22_a_50kw,
        case when i.points > 0 then coalesce(r.points_50_a_150kw, 0) end as points_50_a_150kw,
        case when i.points > 0 then coalesce(r.points_150kw_et_plus, 0) end as points_150kw_et_plus,
        case when i.points > 0 then coalesce(r.points_puissance_inconnue, 0) end as points_puissance_inconnue,
        case when i.points > 0 then coalesce(r.points_avec_etat, 0) end as points_avec_etat,
        case when i.points > 0 and r.points_avec_etat > 0 then r.points_hors_service_dernier_etat end
            as points_hors_service_dernier_etat,
        u.annee as annee_usage,
        coalesce(u.points_observes, 0) as points_observes,
        u.taux_occupation_pct,
        u.taux_en_service_pct,
        u.part_point_dominant_pct,
        u.motif_absence as motif_absence_usage
    from {{ ref('int_territory__levels') }} as l
    cross join inventory as i
    left join rolled as r on r.niveau = l.niveau and r.code_territoire = l.code_territoire
    left join latest_usage as u on u.niveau = l.niveau and u.code_territoire = l.code_territoire
)

select
    niveau,
    code_territoire,
    nom_territoire,
    population,
    points_de_charge,
    stations,
    points_pour_1000_habitants,
    puissance_installee_kw,
    points_jusqu_a_7_4kw,
    points_7_4_a_22kw,
    points_22_a_50kw,
    points_50_a_150kw,
    points_150kw_et_plus,
    points_puissance_inconnue,
    points_avec_etat,
    points_hors_service_dernier_etat,
    annee_usage,
    points_observes,
    taux_occupation_pct,
    taux_en_service_pct,
    part_point_dominant_pct,
    nullif(concat_ws(' ; ',
        case when points_de_charge is null
             then 'points_de_charge et colonnes d''inventaire : aucun inventaire IRVE statique livré' end,
        case when points_de_charge is not null and population = 0
             then 'points_pour_1000_habitants : population nulle' end,
        case when points_de_charge is not null and coalesce(points_avec_etat, 0) = 0
             then 'points_hors_service_dernier_etat : aucun point du territoire n''a d''état livré' end,
        case when annee_usage is null
             then 'taux_occupation_pct, taux_en_service_pct, part_point_dominant_pct : aucun flux d''états IRVE dynamique livré' end,
        motif_absence_usage
    ), '') as motif_absence
from filled
