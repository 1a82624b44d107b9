"""What a published dataset says about itself (DCAT-AP 3, DCAT-AP-FR), in the portal's fields.

The field names are ckanext-dcat's (``ckanext.dcat.schemas:dcat_ap_full.yaml``), which its
``euro_dcat_ap_3`` profile turns into RDF; the hub's CKAN schema (``ckanext-territoire``) shows
the controlled values by their French labels. Values are vocabulary IRIs: EU data themes and
frequencies, the licences' official URLs, territories as geo.api.gouv.fr URLs of their INSEE
codes (a search on the portal finds a dataset by a commune's name or code).
"""

from __future__ import annotations

import duckdb

from territoire_hub.registry import Partner, Registry, Structure

EU = "http://publications.europa.eu/resource/authority/"

# an indicator family's domain → EU data themes (http://publications.europa.eu/resource/authority/data-theme)
THEMES = {
    "weather": ("ENVI", "REGI"),
    "energy": ("ENER", "REGI"),
    "lighting": ("ENER", "REGI"),
    "traffic": ("TRAN", "REGI"),
    "ev_charging": ("TRAN", "ENER"),
    "territory": ("REGI",),
}
FREQUENCIES = {"DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "ANNUAL", "IRREG"}

CHECKSUM_SHA256 = "http://spdx.org/rdf/terms#checksumAlgorithm_sha256"
MEDIA_TYPES = {"CSV": "text/csv", "Parquet": "application/vnd.apache.parquet", "JSON": "application/json",
               "PNG": "image/png"}
# prov:qualifiedAttribution role of a partner whose data an indicator is computed from (ISO 19115)
CONTRIBUTOR_ROLE = "http://inspire.ec.europa.eu/metadata-codelist/ResponsiblePartyRole/resourceProvider"
GEO_API = "https://geo.api.gouv.fr"
ENTREPRISE = "https://annuaire-entreprises.data.gouv.fr/entreprise/"


def themes(domain: str) -> list[str]:
    """In the vocabulary's order, as the portal keeps a multiple choice (else every run differs)."""
    return [f"{EU}data-theme/{code}" for code in sorted(THEMES[domain])]


def frequency(code: str) -> str:
    if code not in FREQUENCIES:
        raise ValueError(f"frequency {code!r}: one of {sorted(FREQUENCIES)} (EU frequency vocabulary)")
    return f"{EU}frequency/{code}"


def publisher(structure: Structure) -> list[dict]:
    """The structure, publisher of every dataset (a repeating-once field: one entry)."""
    entry = {"name": structure.name, "type": "http://purl.org/adms/publishertype/RegionalAuthority"}
    if structure.homepage:
        entry["uri"] = entry["url"] = structure.homepage
    if structure.siren:
        entry["identifier"] = structure.siren
        entry.setdefault("uri", ENTREPRISE + structure.siren)
    if structure.contact:
        entry["email"] = structure.contact.email
    return [entry]


def site_options(structure: Structure) -> dict[str, str]:
    """The portal's identity: its title, description (the DCAT catalogue's), the home page's
    introduction and the catalogue's publisher."""
    intro = [structure.description, "",
             "Seuls des indicateurs agrégés, non identifiants, sont publiés ici, sous licence ouverte "
             "(Licence Ouverte 2.0 ou ODbL selon les sources) ; les données brutes des partenaires restent "
             "dans la structure."]
    if structure.contact:
        intro += ["", f"Contact : {structure.contact.name} — <{structure.contact.email}>"]
    return {"ckan.site_title": structure.name, "ckan.site_description": structure.description,
            "ckan.site_intro_text": "\n".join(intro),
            "ckanext.territoire.publisher_name": structure.name,
            "ckanext.territoire.publisher_uri": structure.homepage or ""}


def contact(structure: Structure) -> list[dict]:
    """The structure's data team: whom a reuser writes to (none declared: no contact point)."""
    if structure.contact is None:
        return []
    entry = {"name": structure.contact.name, "email": structure.contact.email}
    if structure.contact.url:
        entry["url"] = structure.contact.url
    return [entry]


def attributions(partners: list[Partner]) -> list[dict]:
    """The contributing partners, by name (their SIREN when declared), as qualified attributions."""
    out = []
    for partner in partners:
        agent = {"name": partner.name}
        if partner.siren:
            agent.update(identifier=partner.siren, uri=ENTREPRISE + partner.siren)
        out.append({"agent": [agent], "role": CONTRIBUTOR_ROLE})
    return out


def spatial_coverage(con: duckdb.DuckDBPyConnection, registry: Registry) -> tuple[list[dict], str]:
    """The territory (its name, its bounding box when every commune is located), then each région
    it reaches and each code it is declared by, as named geo.api.gouv.fr URLs; and the communes
    covered, ``Nom (code)``, comma-separated."""
    communes = con.execute(
        "SELECT c.code_commune, c.nom_commune, c.latitude, c.longitude FROM registry.territory_communes t "
        "JOIN ref.communes c ON c.code_commune = t.code_commune AND c.type_commune = 'commune-actuelle' "
        "ORDER BY 1").fetchall()
    territory = {"text": f"{registry.territory.name} ({len(communes)} communes)"}
    located = [(lat, lon) for _, _, lat, lon in communes if lat is not None and lon is not None]
    if communes and len(located) == len(communes):     # a box from some communes would be wrong
        lats, lons = [p[0] for p in located], [p[1] for p in located]
        w, e, s, n = (round(v, 4) for v in (min(lons), max(lons), min(lats), max(lats)))
        territory["bbox"] = f"POLYGON(({w} {s},{e} {s},{e} {n},{w} {n},{w} {s}))"
        territory["centroid"] = f"POINT({round((w + e) / 2, 4)} {round((s + n) / 2, 4)})"
    names = {
        "region": dict(con.execute("SELECT code_region, nom_region FROM ref.regions").fetchall()),
        "departement": dict(con.execute("SELECT code_departement, nom_departement FROM ref.departements").fetchall()),
        "epci": dict(con.execute("SELECT code_epci, nom_epci FROM ref.epci").fetchall()),
        "commune": {code: name for code, name, _, _ in communes},
    }
    regions = [r[0] for r in con.execute(
        "SELECT DISTINCT c.code_region FROM registry.territory_communes t JOIN ref.communes c "
        "ON c.code_commune = t.code_commune AND c.type_commune = 'commune-actuelle' ORDER BY 1").fetchall()]
    paths = {"region": "regions", "departement": "departements", "epci": "epcis", "commune": "communes"}
    levels = {"region": "région", "departement": "département", "epci": "EPCI", "commune": "commune"}
    entries = [territory]
    for level, code in dict.fromkeys([("region", r) for r in regions] + registry.territory.codes()):
        entries.append({"text": f"{names[level].get(code, code)} ({levels[level]} {code})",
                        "uri": f"{GEO_API}/{paths[level]}/{code}"})
    listing = ", ".join(f"{name} ({code})" for code, name, _, _ in communes)
    return entries, listing
