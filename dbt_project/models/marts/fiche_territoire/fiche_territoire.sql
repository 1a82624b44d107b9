-- The "fiche territoire": one row per territory (every level) and year with the headline
-- indicator of every domain, read from the domain marts (no indicator is recomputed here).
-- A domain without data for the territory and year leaves its columns null, and
-- motifs_absence lists which domains are missing, with their own reasons.

with years as (
    select annee from {{ ref('meteo_territoire_annee') }}
    union select annee from {{ ref('energie_territoire_annee') }}
    union select annee from {{ ref('eclairage_territoire_annee') }}
    union select annee from {{ ref('trafic_territoire_annee') }}
    union select annee from {{ ref('recharge_territoire_annee') }}
),

territories as (
    select t.niveau, t.code_territoire, t.nom_territoire, t.population, t.nb_communes, y.annee
    from {{ ref('int_territory__levels') }} as t
    cross join years as y
),

energy as (
    select niveau, code_territoire, annee,
           conso_mwh, conso_mwh_par_habitant, total_minorant, motif_absence
    from {{ ref('energie_territoire_annee') }}
    where secteur = 'TOUS' and energie = 'electricite'
),

residential as (
    select niveau, code_territoire, annee, conso_corrigee_climat_mwh
    from {{ ref('energie_territoire_annee') }}
    where secteur = 'RESIDENTIEL' and energie = 'electricite'
),

joined as (
    select
        t.niveau,
        t.code_territoire,
        t.nom_territoire,
        t.annee,
        t.population,
        t.nb_communes,
        w.dju_18,
        w.pluie_mm,
        e.conso_mwh as conso_electricite_mwh,
        e.conso_mwh_par_habitant as conso_electricite_mwh_par_habitant,
        e.total_minorant as conso_electricite_minorant,
        r.conso_corrigee_climat_mwh as conso_residentielle_corrigee_climat_mwh,
        l.points_lumineux,
        l.part_led_pct,
        l.kwh_par_habitant as eclairage_kwh_par_habitant,
        l.delai_median_reparation_h,
        tr.tmj_moyen_par_compteur,
        tr.ecart_pluie_sec_pct as trafic_ecart_pluie_sec_pct,
        ev.points_pour_1000_habitants as recharge_points_pour_1000_habitants,
        evy.taux_occupation_pct as recharge_taux_occupation_pct,
        w.motif_absence as motif_meteo,
        e.motif_absence as motif_energie,
        l.motif_absence as motif_eclairage,
        tr.motif_absence as motif_trafic,
        coalesce(evy.motif_absence, ev.motif_absence) as motif_recharge,
        w.code_territoire is null as sans_meteo,
        e.code_territoire is null as sans_energie,
        l.code_territoire is null as sans_eclairage,
        tr.code_territoire is null as sans_trafic,
        ev.code_territoire is null as sans_recharge
    from territories as t
    left join {{ ref('meteo_territoire_annee') }} as w
        on w.niveau = t.niveau and w.code_territoire = t.code_territoire and w.annee = t.annee
    left join energy as e
        on e.niveau = t.niveau and e.code_territoire = t.code_territoire and e.annee = t.annee
    left join residential as r
        on r.niveau = t.niveau and r.code_territoire = t.code_territoire and r.annee = t.annee
    left join {{ ref('eclairage_territoire_annee') }} as l
        on l.niveau = t.niveau and l.code_territoire = t.code_territoire and l.annee = t.annee
    left join {{ ref('trafic_territoire_annee') }} as tr
        on tr.niveau = t.niveau and tr.code_territoire = t.code_territoire and tr.annee = t.annee
    left join {{ ref('recharge_territoire') }} as ev
        on ev.niveau = t.niveau and ev.code_territoire = t.code_territoire
    left join {{ ref('recharge_territoire_annee') }} as evy
        on evy.niveau = t.niveau and evy.code_territoire = t.code_territoire and evy.annee = t.annee
)

select
    niveau, code_territoire, nom_territoire, annee, population, nb_communes,
    dju_18, pluie_mm,
    conso_electricite_mwh, conso_electricite_mwh_par_habitant, conso_electricite_minorant,
    conso_residentielle_corrigee_climat_mwh,
    points_lumineux, part_led_pct, eclairage_kwh_par_habitant, delai_median_reparation_h,
    tmj_moyen_par_compteur, trafic_ecart_pluie_sec_pct,
    recharge_points_pour_1000_habitants, recharge_taux_occupation_pct,
    nullif(concat_ws(' | ',
        case when dju_18 is null then 'météo : ' || coalesce(motif_meteo, 'aucune donnée pour ce territoire et cette année') end,
        case when conso_electricite_mwh is null then 'énergie : ' || coalesce(motif_energie, 'aucune livraison du gestionnaire de réseau pour cette année') end,
        case when points_lumineux is null then 'éclairage : ' || coalesce(motif_eclairage, 'aucun inventaire') end,
        case when tmj_moyen_par_compteur is null then 'trafic : ' || coalesce(motif_trafic, 'aucun compteur') end,
        case when recharge_points_pour_1000_habitants is null then 'recharge : ' || coalesce(motif_recharge, 'aucun point de charge') end
    ), '') as motifs_absence
from joined
