"""The hub's DCAT profile, run after ckanext-dcat's ``euro_dcat_ap_3`` and ``euro_dcat_ap_scheming``.

Those write the DCAT-AP 3 graph from the dataset's fields; this profile completes what a
harvester (data.gouv.fr's, the European portal's) and the official DCAT-AP 3 SHACL shapes expect
and CKAN's fields leave implicit:

* every controlled value is an IRI of its vocabulary, typed and labelled: themes
  (``skos:Concept`` with their French label), formats (EU file types, ``dct:MediaTypeOrExtent``),
  media types (IANA, ``dct:MediaType``), licences (``dct:LicenseDocument``), languages;
* an uploaded file is a ``dcat:downloadURL`` as well as the ``dcat:accessURL``;
* the contributors are ``prov:qualifiedAttribution`` / ``prov:Attribution`` / ``prov:agent``, as
  DCAT defines them (ckanext-dcat 2.4 writes them in the ``dcat:`` namespace, where they do not
  exist, and reads them back from ``prov:``);
* a family's series (``dcat:DatasetSeries``) is also typed ``dcat:Dataset``, which it is (DCAT 3);
* a blank node written twice (ckanext-dcat's base and scheming profiles both write the spatial
  and temporal coverage) is kept once;
* the catalogue has a description, a publisher (the structure) and its language as an IRI.

CKAN's own fields keep what people read (``CSV``, ``text/csv``): only the RDF speaks IRIs.

Config (ckan.ini): ``ckanext.territoire.publisher_name``, ``ckanext.territoire.publisher_uri``
(the structure, publisher of the catalogue), ``ckan.site_description``.
"""
from __future__ import annotations

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, SKOS

import ckan.plugins.toolkit as toolkit
from ckanext.dcat.profiles import DCAT, DCT, FOAF, RDFProfile, SPDX, VCARD

EU = "http://publications.europa.eu/resource/authority/"
FILE_TYPES = {"CSV": "CSV", "PARQUET": "PARQUET", "JSON": "JSON", "PNG": "PNG", "PDF": "PDF",
              "XLSX": "XLSX", "GEOJSON": "GEOJSON", "ZIP": "ZIP", "HTML": "HTML"}
IANA = "https://www.iana.org/assignments/media-types/"
FRENCH = URIRef(EU + "language/FRA")
# ADMS publisher types (http://purl.org/adms/publishertype/1.0), French labels
PUBLISHER_TYPES = {
    "RegionalAuthority": "Autorité régionale", "LocalAuthority": "Autorité locale",
    "NationalAuthority": "Autorité nationale", "Company": "Entreprise",
    "PrivateIndividual(s)": "Particulier", "NonProfitOrganisation": "Organisation à but non lucratif",
    "Academia-ScientificOrganisation": "Organisme scientifique", "Industry": "Industrie",
    "StandardisationBody": "Organisme de normalisation", "SupraNationalAuthority": "Autorité supranationale",
    "NonGovernmentalOrganisation": "Organisation non gouvernementale",
}


def scheming_labels(field_name: str) -> dict[str, str]:
    """value → label of a select field of the dataset schema (the French labels shown on the pages)."""
    schema = toolkit.h.scheming_get_dataset_schema("dataset") or {}
    for field in schema.get("dataset_fields", []):
        if field["field_name"] == field_name:
            return {c["value"]: c["label"] for c in field.get("choices", [])}
    return {}


class TerritoireDCATAPProfile(RDFProfile):
    """Completes the DCAT-AP 3 graph (see the module's docstring); reads nothing back."""

    def parse_dataset(self, dataset_dict, dataset_ref):
        return dataset_dict

    def graph_from_dataset(self, dataset_dict, dataset_ref):
        g = self.g
        if dataset_dict.get("type") == "dataset_series":
            # a dcat:DatasetSeries is a dcat:Dataset (DCAT 3): said explicitly, for the catalogue's
            # dcat:dataset and for validators without RDFS inference
            g.add((dataset_ref, RDF.type, DCAT.Dataset))
        themes = scheming_labels("theme")
        for theme in g.objects(dataset_ref, DCAT.theme):
            g.add((theme, RDF.type, SKOS.Concept))
            g.add((theme, SKOS.inScheme, URIRef(EU + "data-theme")))
            if str(theme) in themes:
                g.add((theme, SKOS.prefLabel, Literal(themes[str(theme)], lang="fr")))
        for frequency in g.objects(dataset_ref, DCT.accrualPeriodicity):
            g.add((frequency, RDF.type, DCT.Frequency))
        g.add((dataset_ref, DCT.language, FRENCH))
        g.add((FRENCH, RDF.type, DCT.LinguisticSystem))
        for contact in g.objects(dataset_ref, DCAT.contactPoint):
            g.add((contact, RDF.type, VCARD.Kind))
        for agent in g.objects(dataset_ref, DCT.publisher):
            self._agent_type(agent)
        self._attributions(dataset_ref)
        for predicate in (DCT.spatial, DCT.temporal, DCAT.contactPoint):
            self._once(dataset_ref, predicate)
        licence = dataset_dict.get("license_url")
        for resource in dataset_dict.get("resources", []):
            self._distribution(resource, licence, dataset_dict.get("license_title"))

    def _once(self, subject, predicate) -> None:
        """Blank nodes of ``subject``'s ``predicate`` with the same statements: all but one removed."""
        g, seen = self.g, set()
        for node in sorted((o for o in g.objects(subject, predicate) if isinstance(o, BNode)), key=str):
            content = frozenset((p, o) for p, o in g.predicate_objects(node))
            if content in seen:
                g.remove((subject, predicate, node))
                g.remove((node, None, None))
            seen.add(content)

    def _attributions(self, dataset_ref) -> None:
        g = self.g
        for attribution in list(g.objects(dataset_ref, DCAT.qualifiedAttribution)):
            g.remove((dataset_ref, DCAT.qualifiedAttribution, attribution))
            g.add((dataset_ref, PROV.qualifiedAttribution, attribution))
            g.remove((attribution, RDF.type, DCAT.Attribution))
            g.add((attribution, RDF.type, PROV.Attribution))
            for agent in list(g.objects(attribution, DCAT.agent)):
                g.remove((attribution, DCAT.agent, agent))
                g.add((attribution, PROV.agent, agent))
            for role in g.objects(attribution, DCAT.hadRole):
                g.add((role, RDF.type, DCAT.Role))

    def _agent_type(self, agent) -> None:
        """An ADMS publisher type is a skos:Concept with its label (DCAT-AP 3 shapes)."""
        for kind in self.g.objects(agent, DCT.type):
            code = str(kind).rsplit("/", 1)[-1]
            if isinstance(kind, URIRef) and code in PUBLISHER_TYPES:
                self.g.add((kind, RDF.type, SKOS.Concept))
                self.g.add((kind, SKOS.prefLabel, Literal(PUBLISHER_TYPES[code], lang="fr")))

    def _distribution(self, resource: dict, licence: str | None, licence_title: str | None) -> None:
        g = self.g
        distribution = next((d for d in g.subjects(RDF.type, DCAT.Distribution)
                             if str(d).endswith("/resource/" + resource["id"])), None)
        if distribution is None:
            return
        for fmt in list(g.objects(distribution, DCT["format"])):
            code = FILE_TYPES.get(str(fmt).upper())
            if isinstance(fmt, Literal) and code:
                g.remove((distribution, DCT["format"], fmt))
                iri = URIRef(EU + "file-type/" + code)
                g.add((distribution, DCT["format"], iri))
                g.add((iri, RDF.type, DCT.MediaTypeOrExtent))
        for media in list(g.objects(distribution, DCAT.mediaType)):
            if isinstance(media, Literal) and "/" in str(media):
                g.remove((distribution, DCAT.mediaType, media))
                iri = URIRef(IANA + str(media))
                g.add((distribution, DCAT.mediaType, iri))
                g.add((iri, RDF.type, DCT.MediaType))
        if licence and licence.startswith("http") and not any(g.objects(distribution, DCT.license)):
            g.add((distribution, DCT.license, URIRef(licence)))     # the dataset's licence, as its URL
            if licence_title:
                g.add((URIRef(licence), DCT.title, Literal(licence_title, lang="fr")))
        for licence_ref in g.objects(distribution, DCT.license):
            g.add((licence_ref, RDF.type, DCT.LicenseDocument))
        if resource.get("url_type") == "upload":
            for url in list(g.objects(distribution, DCAT.accessURL)):
                g.add((distribution, DCAT.downloadURL, url))
        for predicate in (DCAT.accessURL, DCAT.downloadURL):
            for url in g.objects(distribution, predicate):
                g.add((url, RDF.type, RDFS.Resource))
        for checksum in g.objects(distribution, SPDX.checksum):
            for algorithm in g.objects(checksum, SPDX.algorithm):
                g.add((algorithm, RDF.type, SPDX.ChecksumAlgorithm))

    def graph_from_catalog(self, catalog_dict, catalog_ref):
        g = self.g
        config = toolkit.config
        for language in list(g.objects(catalog_ref, DCT.language)):
            if isinstance(language, Literal):
                g.remove((catalog_ref, DCT.language, language))
        g.add((catalog_ref, DCT.language, FRENCH))
        g.add((FRENCH, RDF.type, DCT.LinguisticSystem))
        for homepage in g.objects(catalog_ref, FOAF.homepage):
            g.add((homepage, RDF.type, FOAF.Document))
        if not any(g.objects(catalog_ref, DCT.description)):
            g.add((catalog_ref, DCT.description,
                   Literal(config.get("ckan.site_description") or config.get("ckan.site_title") or "", lang="fr")))
        name = config.get("ckanext.territoire.publisher_name")
        if name and not any(g.objects(catalog_ref, DCT.publisher)):
            publisher = URIRef(config.get("ckanext.territoire.publisher_uri") or config.get("ckan.site_url"))
            g.add((catalog_ref, DCT.publisher, publisher))
            g.add((publisher, RDF.type, FOAF.Agent))
            g.add((publisher, FOAF.name, Literal(name)))
        for agent in g.objects(catalog_ref, DCT.publisher):
            self._agent_type(agent)
