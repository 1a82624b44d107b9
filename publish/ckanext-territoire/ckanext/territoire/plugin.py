"""ckanext-territoire: serve CKAN dataset search from PostgreSQL when Solr
is not used.

Config (ckan.ini):
    ckanext.territoire.search_backend = auto | postgres | solr   (default auto)
    ckanext.territoire.anonymous_query_timeout = 5               (seconds; 0: CKAN's own limit)

* postgres: always use the PostgreSQL backend.
* solr:     never touch CKAN's search layer (plain CKAN behaviour).
* auto:     use Solr if ``solr_url`` is set and its ping answers at start-up,
            PostgreSQL otherwise.

An anonymous ``datastore_search`` or ``datastore_search_sql`` runs at most
``anonymous_query_timeout`` seconds (CKAN's own statement timeout is 60 s):
two slow anonymous queries must not hold the web workers for a minute.
"""
from __future__ import annotations

import json
import logging

import requests

import ckan.plugins as p
import ckan.plugins.toolkit as toolkit
from ckan import authz
from ckan.config.declaration import Declaration, Key

from . import backend, harvesters, home

log = logging.getLogger(__name__)

MULTIPLE_PRESETS = ("multiple_select", "multiple_checkbox", "multiple_text")

_patched = False


def solr_answers(solr_url: str | None) -> bool:
    if not solr_url:
        return False
    try:
        r = requests.get(solr_url.rstrip('/') + '/admin/ping',
                         params={'wt': 'json'}, timeout=2)
        return r.ok
    except requests.RequestException:
        return False


def choose_backend(cfg) -> str:
    mode = (cfg.get('ckanext.territoire.search_backend') or 'auto').lower()
    if mode not in ('auto', 'postgres', 'solr'):
        raise ValueError('ckanext.territoire.search_backend: %r' % mode)
    if mode == 'auto':
        mode = 'solr' if solr_answers(cfg.get('solr_url')) else 'postgres'
    return mode


def install_postgres_backend() -> None:
    """The seam: every Solr access in ckan.lib.search goes through
    ``make_connection()``; each module imported it by name, so rebind it in
    all four namespaces.  The Solr schema-version check run at start-up is
    switched off (it would fetch schema.xml over HTTP)."""
    global _patched
    if _patched:
        return
    import ckan.lib.search as search
    from ckan.lib.search import common, index, query

    def make_connection(decode_dates: bool = True) -> backend.PgConnection:
        return backend.PgConnection()

    for module in (search, common, index, query):
        module.make_connection = make_connection
    search.check_solr_schema_version = lambda schema_file=None: False
    _patched = True
    log.info('territoire: dataset search served by PostgreSQL (%s)',
             backend.TABLE)


def anonymous_timeout_ms() -> int | None:
    seconds = toolkit.config.get('ckanext.territoire.anonymous_query_timeout')
    return int(float(seconds) * 1000) if seconds and float(seconds) > 0 else None


def _limited(action_name: str):
    """``action_name`` chained: an anonymous caller's query gets the short statement timeout
    (the DataStore reads ``context['query_timeout']``, in milliseconds)."""
    @toolkit.side_effect_free   # both are read-only: answered on GET, like the core actions
    @toolkit.chained_action
    def action(original_action, context, data_dict):
        timeout = anonymous_timeout_ms()
        if timeout and authz.auth_is_anon_user(context):
            context['query_timeout'] = timeout
        return original_action(context, data_dict)

    action.__name__ = action_name
    return action


class TerritoirePlugin(p.SingletonPlugin):
    p.implements(p.IConfigurer)
    p.implements(p.IConfigDeclaration)
    p.implements(p.IActions)
    p.implements(p.IPackageController, inherit=True)
    p.implements(p.ITemplateHelpers)

    # ITemplateHelpers
    def get_helpers(self):
        return {"territoire_home": home.home_page}

    # IPackageController: a multiple choice (themes) is indexed as its values, so that
    # `fq=theme:"<IRI>"` and the facets see each value (CKAN indexes it as one JSON string)
    def before_dataset_index(self, pkg_dict):
        schema = toolkit.h.scheming_get_dataset_schema(pkg_dict.get("type") or "dataset") or {}
        for field in schema.get("dataset_fields", []):
            value = pkg_dict.get(field["field_name"])
            if field.get("preset") in MULTIPLE_PRESETS and isinstance(value, str) and value.startswith("["):
                try:
                    decoded = json.loads(value)
                except ValueError:
                    continue
                if isinstance(decoded, list) and all(isinstance(v, str) for v in decoded):
                    pkg_dict[field["field_name"]] = decoded
        return pkg_dict

    # IPackageController: the classic extras CKAN harvesters read (see harvesters.py)
    def after_dataset_show(self, context, pkg_dict):
        if not pkg_dict.get("extras") and harvesters.is_package_show_request():
            extras = harvesters.classic_extras(pkg_dict)
            if extras:
                pkg_dict["extras"] = extras

    # IActions
    def get_actions(self):
        return {name: _limited(name) for name in ('datastore_search', 'datastore_search_sql')}

    # IConfigDeclaration
    def declare_config_options(self, declaration: Declaration, key: Key):
        declaration.annotate('ckanext-territoire')
        declaration.declare(key.ckanext.territoire.search_backend, 'auto') \
            .set_description('auto | postgres | solr')
        declaration.declare(key.ckanext.territoire.anonymous_query_timeout, 5) \
            .set_description('seconds an anonymous DataStore query may run (0: CKAN\'s 60 s)')
        declaration.declare(key.ckanext.territoire.publisher_name, '') \
            .set_description('the structure publishing the catalogue (DCAT dct:publisher of the catalogue)')
        declaration.declare(key.ckanext.territoire.publisher_uri, '') \
            .set_description('its URI (its website); the site URL when empty')
        declaration.declare(key.ckanext.territoire.logo_sha256, '') \
            .set_description('SHA-256 of the uploaded site logo (the publisher sends it again when it changes)')
        # the site logo is an upload of object type "admin", which CKAN declares no types for
        declaration.declare_list(key.ckan.upload.admin.types, ['image'])
        declaration.declare_list(key.ckan.upload.admin.mimetypes, ['image/png', 'image/gif', 'image/jpeg'])

    # IConfigurer: the structure's identity is set by the hub's publisher through
    # config_option_update (a sysadmin), like the site title and description
    def update_config_schema(self, schema):
        ignore_missing = toolkit.get_validator('ignore_missing')
        unicode_safe = toolkit.get_validator('unicode_safe')
        schema.update({'ckanext.territoire.publisher_name': [ignore_missing, unicode_safe],
                       'ckanext.territoire.publisher_uri': [ignore_missing, unicode_safe],
                       'ckanext.territoire.logo_sha256': [ignore_missing, unicode_safe]})
        return schema

    # IConfigurer: runs inside load_environment *before* CKAN's Solr
    # schema check, which is why the switch happens here.
    def update_config(self, config):
        toolkit.add_template_directory(config, 'templates')
        mode = choose_backend(config)
        if mode == 'postgres':
            install_postgres_backend()
        else:
            log.info('territoire: leaving Solr in place (%s)',
                     config.get('solr_url'))
