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

import logging

import requests

import ckan.plugins as p
import ckan.plugins.toolkit as toolkit
from ckan import authz
from ckan.config.declaration import Declaration, Key

from . import backend

log = logging.getLogger(__name__)

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

    # IConfigurer: runs inside load_environment *before* CKAN's Solr
    # schema check, which is why the switch happens here.
    def update_config(self, config):
        mode = choose_backend(config)
        if mode == 'postgres':
            install_postgres_backend()
        else:
            log.info('territoire: leaving Solr in place (%s)',
                     config.get('solr_url'))
