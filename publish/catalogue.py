"""What the portal shows: one CKAN dataset per indicator family, in French, with its tables.

Each family lists the approved marts it publishes (``publication.<mart>``), the chart that sums it
up, and — for marts built from commercial or restricted sources — the statistical secrecy to apply
(the rule itself comes from the registry: the strictest ``Dataset.secrecy`` of the datasets of the
source format, or the legal default when none declares one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from territoire_hub.registry import Partner, SecrecyOverride, SecrecyRule, Structure

def structure_organisation(structure: Structure) -> dict:
    """The regional structure's CKAN organisation (from the registry's ``structure:``)."""
    return {"name": structure.id, "title": structure.name, "description": structure.description}


def organisation_of(partners: list[Partner], structure: Structure) -> dict:
    """Who a dataset is shown under: the contributing partner when the data is all theirs (the
    weather is Météo-France's), else the regional structure that pooled it."""
    if len(partners) != 1:
        return structure_organisation(structure)
    partner = partners[0]
    return {"name": partner.id, "title": partner.name,
            "description": f"Indicateurs agrégés calculés par la structure régionale à partir des seules données "
                           f"de {partner.name}, partenaire de la mutualisation."}


# The legal rules when no partner of the source format declares its own (MISSION.md): at least 3
# contributors and none above 85 %; residential electricity at least 10 delivery points
# (Code de l'énergie D111-53).
OFFICIAL_STATISTICS = SecrecyRule(contributor="contributeur", min_contributors=3, max_dominant_share=0.85)
ENERGY_CODE = SecrecyRule(contributor="point de livraison", min_contributors=3, max_dominant_share=0.85,
                          by_sector={"RESIDENTIEL": SecrecyOverride(min_contributors=10)})


@dataclass(frozen=True)
class Secrecy:
    source: str                     # the format whose datasets' registry rules apply (the strictest)
    contributors: str
    group: tuple[str, ...]
    measures: tuple[str, ...]
    dominant_share: str | None = None
    dominant_share_scale: float = 1.0   # 100 when the column is a percentage
    sector_column: str | None = None
    total: str | None = None            # the sector value that is the sum of the others ('TOUS')
    default: SecrecyRule = OFFICIAL_STATISTICS   # when no dataset of the format declares a rule


@dataclass(frozen=True)
class Chart:
    """A bar chart of one measure for the EPCIs of the territory, latest year."""

    mart: str
    measure: str
    label: str
    unit: str
    where: str = "TRUE"


@dataclass(frozen=True)
class Mask:
    """Columns copied from a mart under secrecy: blanked wherever that mart's cell is secret."""

    mart: str
    where: str                      # which of its rows the columns come from
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    mart: str
    title: str
    secrecy: Secrecy | None = None
    masks: tuple[Mask, ...] = ()


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    notes: str
    domain: str
    tags: tuple[str, ...]
    tables: tuple[Table, ...]
    chart: Chart
    frequency: str = "ANNUAL"
    extra_tags: tuple[str, ...] = field(default=())


FAMILIES: tuple[Family, ...] = (
    Family(
        "meteo-degres-jours", "Météo et degrés-jours par territoire",
        "Températures, pluie et degrés-jours unifiés (base 18 °C, fenêtres Météo-France) par commune, EPCI, "
        "département et région, chaque jour et chaque année. Chaque commune prend la station la plus proche "
        "ayant des données ce jour-là.",
        "weather", ("météo", "degrés-jours", "climat"),
        (Table("meteo_territoire_annee", "Météo par territoire et par an"),
         Table("meteo_territoire_jour", "Météo par territoire et par jour")),
        Chart("meteo_territoire_annee", "dju_18", "Degrés-jours unifiés (base 18 °C)", "degrés-jours (°C·jour)")),
    Family(
        "consommation-electricite", "Consommation d'électricité par territoire et par secteur",
        "Consommation annuelle d'électricité (MWh) par territoire et secteur, par habitant, corrigée du climat "
        "pour le résidentiel. Secret statistique appliqué : une cellule de moins de 3 points de livraison "
        "(10 pour le résidentiel) ou dominée à plus de 85 % par un point est masquée et signalée.",
        "energy", ("énergie", "électricité", "consommation"),
        (Table("energie_territoire_annee", "Consommation d'électricité par territoire, secteur et an",
               # the dominance test uses the lower bound of the dominant point's share: a cell is
               # secret when it is certainly dominated (ORE's cells already passed its own secrecy;
               # the upper bound is 1 for any one-cell territory and would hide every commune)
               Secrecy("ore_conso_commune", "points_de_livraison", ("annee", "energie", "secteur"),
                       ("conso_mwh", "conso_mwh_par_habitant", "conso_kwh_par_point", "conso_corrigee_climat_mwh"),
                       dominant_share="part_point_dominant_min", sector_column="secteur", total="TOUS",
                       default=ENERGY_CODE)),),
        Chart("energie_territoire_annee", "conso_mwh_par_habitant", "Consommation d'électricité résidentielle par habitant",
              "MWh par habitant", where="secteur = 'RESIDENTIEL'")),
    Family(
        "eclairage-public", "Éclairage public par territoire",
        "Parc de points lumineux, part de LED, puissance installée, consommation des armoires relevées, "
        "allumages en journée et pannes (délai médian de réparation), par territoire et par an.",
        "lighting", ("éclairage public", "énergie", "LED"),
        (Table("eclairage_territoire_annee", "Éclairage public par territoire et par an"),),
        Chart("eclairage_territoire_annee", "part_led_pct", "Part de LED dans le parc d'éclairage public", "% des points lumineux")),
    Family(
        "trafic-routier", "Trafic routier par territoire et par compteur",
        "Trafic moyen journalier (tous jours, jours ouvrés), part de l'heure de pointe, heures de congestion "
        "et écart entre jours de pluie et jours secs, par compteur permanent et par territoire ; trafic moyen "
        "journalier annuel (TMJA) et part des poids lourds par tronçon des routes nationales et départementales, "
        "campagnes de comptage d'une semaine ; fréquentation des sites de comptage des mobilités (vélos, piétons).",
        "traffic", ("mobilité", "trafic", "comptages"),
        (Table("trafic_territoire_annee", "Trafic par territoire et par an"),
         Table("trafic_compteur", "Trafic par compteur et par an"),
         Table("trafic_troncon_annee", "Trafic moyen journalier annuel par tronçon routier"),
         Table("mobilites_site_annee", "Fréquentation par site de comptage des mobilités et par an")),
        Chart("trafic_territoire_annee", "tmj_moyen_par_compteur", "Trafic moyen journalier par compteur permanent",
              "véhicules par jour")),
    Family(
        "recharge-vehicules-electriques", "Recharge des véhicules électriques par territoire",
        "Points de recharge (par puissance), points pour 1 000 habitants, taux d'occupation et de service. "
        "Secret statistique appliqué à l'usage : moins de 3 points observés ou un point dominant à plus de "
        "85 % masque la cellule.",
        "ev_charging", ("mobilité", "recharge", "véhicules électriques"),
        (Table("recharge_territoire", "Points de recharge par territoire",
               Secrecy("irve_dynamique", "points_observes", ("annee_usage",),
                       ("taux_occupation_pct", "taux_en_service_pct"),
                       dominant_share="part_point_dominant_pct", dominant_share_scale=100.0)),
         Table("recharge_territoire_annee", "Usage des points de recharge par territoire et par an",
               Secrecy("irve_dynamique", "points_observes", ("annee",),
                       ("heures_observees", "taux_occupation_pct", "taux_en_service_pct"),
                       dominant_share="part_point_dominant_pct", dominant_share_scale=100.0))),
        Chart("recharge_territoire", "points_pour_1000_habitants", "Points de recharge pour véhicules électriques",
              "points pour 1 000 habitants")),
    Family(
        "fiche-territoire", "Fiche territoire : les indicateurs clés",
        "Une ligne par territoire et par an rassemblant les indicateurs clés des autres jeux de données "
        "(climat, électricité, éclairage, trafic, recharge), avec les motifs d'absence.",
        "territory", ("territoire", "synthèse"),
        (Table("fiche_territoire", "Fiche territoire par an", masks=(
            Mask("energie_territoire_annee", "energie = 'electricite' AND secteur = 'TOUS'",
                 ("conso_electricite_mwh", "conso_electricite_mwh_par_habitant", "conso_electricite_minorant")),
            Mask("energie_territoire_annee", "energie = 'electricite' AND secteur = 'RESIDENTIEL'",
                 ("conso_residentielle_corrigee_climat_mwh",)))),),
        Chart("fiche_territoire", "conso_electricite_mwh_par_habitant", "Consommation d'électricité par habitant",
              "MWh par habitant")),
)
