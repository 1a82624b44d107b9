-- Trafic annuel par tronçon routier : trafic moyen journalier annuel (TMJA) des routes
-- nationales (fichiers tmja-rrnc) et départementales, et trafic moyen des campagnes de comptage
-- d'une semaine des villes (type_mesure 'campagne_semaine' : une semaine, pas une moyenne
-- annuelle). Une ligne par producteur, tronçon et année. Un tronçon sans mesure, ou de TMJA 0
-- (comptage invalide), apparaît avec tmja NULL et motif_absence ; jamais 0.
select
    p.nom as producteur,
    s.source_format as format_source,
    s.section_id as id_troncon,
    s.route,
    s.year as annee,
    s.measure_year as annee_mesure,
    s.measure as type_mesure,
    s.count_type as type_comptage,
    s.code_commune,
    s.commune_source as localisation,
    s.codes_communes as communes_traversees,
    s.length_m as longueur_m,
    round(s.aadt_veh, 1) as tmja,
    round(s.heavy_vehicle_share_pct, 2) as part_poids_lourds_pct,
    round(s.latitude, 6) as latitude,
    round(s.longitude, 6) as longitude,
    nullif(concat_ws(' ; ',
        case when s.is_zero_aadt then 'tmja : TMJA 0 livré (comptage invalide ou compteur en panne), non retenu' end,
        case when s.aadt_veh is null and not s.is_zero_aadt and s.measure = 'campagne_semaine'
             then 'tmja : campagne sans valeur dans tous les sens de circulation' end,
        case when s.aadt_veh is null and not s.is_zero_aadt and s.measure = 'tmja_annuel'
             then 'tmja : tronçon sans mesure de trafic cette année' end,
        case when s.aadt_veh is not null and s.heavy_share_unreadable
             then 'part_poids_lourds_pct : valeur livrée illisible (entier sans décimale ou au-delà de 100 : pas un pourcentage)' end,
        case when s.aadt_veh is not null and s.heavy_vehicle_share_pct is null and not s.heavy_share_unreadable
             then 'part_poids_lourds_pct : non mesurée pour ce tronçon' end,
        case when s.code_commune is null then 'code_commune : tronçon non localisé' end
    ), '') as motif_absence
from {{ ref('int_traffic__section_yearly') }} as s
left join {{ source('registry', 'partners') }} as p on p.partner_id = s.partner_id
-- the sections of the territory only (a national file covers France)
where s.code_commune in (select code_commune from {{ ref('int_territory__communes') }})
