"""What the hub shares, and with whom: the COG tables and metadata tables copied into the analysts'
snapshot and the partner exports (with their documentation, which is also the list of columns
allowed in them), the documented views, and which of the hub's tables belong to a partner.

Read by the writers (``shared_warehouse.py``, ``partner_export.py``) and by the check that
guards them (``sensitivity.py``).
"""

from __future__ import annotations

from territoire_hub.registry import Registry

_CODE_COMMUNE = "Code INSEE de la commune (COG 2026)."
_POPULATION = "Population municipale (INSEE, recensement millésimé du COG)."
# The COG tables copied, with their columns: the comments of the file and the columns allowed in it.
REFERENCE: dict[str, tuple[str, dict[str, str]]] = {
    "communes": ("Communes du COG (INSEE) de toute la France, communes déléguées, associées et arrondissements "
                 "municipaux compris.", {
        "code_commune": _CODE_COMMUNE, "nom_commune": "Nom de la commune.",
        "type_commune": "COM (commune), COMD (déléguée), COMA (associée) ou ARM (arrondissement municipal).",
        "code_commune_parente": "Commune de rattachement d'une commune déléguée, associée ou d'un arrondissement.",
        "code_departement": "Code du département.", "code_region": "Code de la région.",
        "code_epci": "SIREN de l'EPCI à fiscalité propre dont la commune est membre.",
        "siren": "SIREN de la commune.", "population": _POPULATION,
        "codes_postaux": "Codes postaux desservant la commune.",
        "latitude": "Latitude du point de la commune : sa mairie, ou un point de son contour (WGS 84, degrés).",
        "longitude": "Longitude du point de la commune (WGS 84, degrés).",
        "coord_source": "Origine du point : mairie (annuaire DILA, dans le contour IGN ADMIN EXPRESS), contour "
                        "(point du contour), mairie-2024/contour-2024 (millésime précédent), geonames (outre-mer).",
    }),
    "epci": ("EPCI à fiscalité propre du COG.", {
        "code_epci": "SIREN de l'EPCI.", "nom_epci": "Nom de l'EPCI.",
        "type_epci": "Nature juridique : ME (métropole), CU, CA, CC.", "population": _POPULATION,
    }),
    "departements": ("Départements du COG.", {
        "code_departement": "Code du département.", "nom_departement": "Nom du département.",
        "code_region": "Code de la région.",
    }),
    "regions": ("Régions du COG.", {"code_region": "Code de la région.", "nom_region": "Nom de la région."}),
    "postal_codes": ("Codes postaux (La Poste) et communes qu'ils desservent.", {
        "code_postal": "Code postal.", "code_commune": _CODE_COMMUNE,
    }),
    "commune_codes": ("Tous les codes qu'un partenaire peut écrire pour une commune et la commune actuelle qu'ils "
                      "désignent : arrondissements municipaux, communes déléguées et associées, anciens codes.", {
        "code": "Code INSEE tel qu'écrit (commune, arrondissement, commune déléguée ou associée, ancien code).",
        "code_commune": "Commune actuelle (COG 2026) désignée par ce code.",
        "kind": "commune, arrondissement, commune_deleguee, commune_associee ou ancien_code.",
    }),
    "meta": ("Millésime du COG chargé.", {
        "cog_vintage": "Millésime du Code officiel géographique.", "loaded_at": "Chargement dans le hub (UTC).",
        "files_sha256": "Empreinte des fichiers de référence chargés.",
    }),
}

META: dict[str, tuple[str, dict[str, str]]] = {
    "snapshot": ("Le run du pipeline dont ce fichier reprend les marts approuvés, quand il a été écrit et pour qui.", {
        "run_id": "Run du pipeline (contrôle qualité) qui a approuvé les marts.",
        "written_at": "Écriture du fichier (UTC).",
        "audience": "« analysts » (entrepôt partagé) ou « partner:<id> » (export d'un partenaire).",
    }),
    "tables": ("Ce que contient ce fichier : une ligne par table ou vue, avec les jeux de données partenaires dont "
               "elle est calculée.", {
        "table_schema": "Schéma.", "table_name": "Table ou vue.", "lignes": "Nombre de lignes.",
        "description": "Ce que contient la table.",
        "sources": "Jeux de données partenaires (<partenaire>__<jeu>) dont la table est calculée (lignage dbt).",
    }),
}

# Documented views for the questions analysts ask first; they read only the tables above.
VIEWS = {
    "territoires_region": (
        "Les communes de la région suivie, avec leur EPCI et leur département (nom et code) : la table de "
        "correspondance pour passer d'un niveau à l'autre.",
        """SELECT c.code_commune, c.nom_commune, c.population, c.code_epci, e.nom_epci,
       c.code_departement, d.nom_departement, c.code_region, r.nom_region
FROM ref.communes c
JOIN ref.epci e USING (code_epci)
JOIN ref.departements d USING (code_departement)
JOIN ref.regions r ON r.code_region = c.code_region
WHERE c.code_commune IN (SELECT code_territoire FROM marts.fiche_territoire WHERE niveau = 'commune')"""),
    "fiche_derniere_annee": (
        "La fiche territoire de la dernière année disponible : une ligne par territoire (commune, EPCI, "
        "département, région).",
        """SELECT * FROM marts.fiche_territoire
WHERE annee = (SELECT max(annee) FROM marts.fiche_territoire)"""),
    "electricite_par_secteur": (
        "Consommation d'électricité par territoire, année et secteur (MWh, MWh par habitant), cellules sous "
        "secret statistique vides et signalées.",
        """SELECT niveau, code_territoire, nom_territoire, annee, secteur, conso_mwh, conso_mwh_par_habitant,
       points_de_livraison, secret_statistique
FROM marts.energie_territoire_annee
WHERE energie = 'electricite'"""),
}


def partner_keys(registry: Registry, partner_id: str) -> list[str]:
    if partner_id not in registry.partners:
        raise KeyError(f"unknown partner {partner_id!r}; known: {', '.join(sorted(registry.partners))}")
    return [entry.key for entry in registry.of_partner(partner_id)]


def partner_staging(registry: Registry, partner_id: str) -> dict[str, list[str]]:
    """The staging models (one per format) holding the partner's rows, with the partner's datasets
    in each: an export copies those rows only (``dataset_key`` among them)."""
    models: dict[str, list[str]] = {}
    for entry in registry.of_partner(partner_id):
        models.setdefault(f"stg_{entry.spec.id}", []).append(entry.key)
    return models
