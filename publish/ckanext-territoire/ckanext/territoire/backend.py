"""A pysolr-compatible connection object backed by PostgreSQL.

CKAN's search layer (ckan.lib.search.index / .query / .common) talks to
Solr only through ``make_connection()``, which returns a ``pysolr.Solr``
and then calls ``add``, ``delete``, ``commit`` and ``search`` on it.  This
module provides ``PgConnection`` with the same four methods; the plugin
swaps ``make_connection`` so that everything CKAN does before and after
(flattening of datasets, IPackageController.before_dataset_index,
permission labels, state/capacity filters, package_search result
building) is kept unchanged.

Documents live in one table of the CKAN database and are written in the
same SQLAlchemy session (and therefore the same transaction) as the
dataset itself.
"""
from __future__ import annotations

import json
import logging
import re
from typing import Any, Iterable

import sqlalchemy as sa

import ckan.model as model
from ckan.lib.search.common import SearchQueryError

from .solrsyntax import (MAX_OFFSET, MAX_QUERY_LENGTH, MAX_SORT_KEYS, Compiler,
                         check_text, free_text, parse, unaccent)

log = logging.getLogger(__name__)

TABLE = 'territoire_search_index'

# Filters that CKAN adds to *every* search (state, capacity, site_id,
# dataset_type, permission_labels) are real columns: PostgreSQL keeps
# statistics on them, so the planner does not mistake them for selective
# filters (it has none for jsonb @>).  Everything else is in `fields`.
# (see solrsyntax.COLUMN_FIELDS for the translation side)

DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    index_id          text PRIMARY KEY,          -- md5(id || site_id), as in Solr
    id                text NOT NULL,
    site_id           text NOT NULL,
    name              text,
    title_sort        text,                      -- lower(unaccent(title))
    state             text,
    capacity          text,                      -- 'public' | 'private'
    dataset_type      text,
    permission_labels text[] NOT NULL DEFAULT '{{}}',
    metadata_created  timestamptz,
    metadata_modified timestamptz,
    doc               jsonb NOT NULL,            -- the flattened dict CKAN sends to Solr
    fields            jsonb NOT NULL,            -- same minus serialised dicts, values as arrays of strings
    tsv_fr            tsvector NOT NULL,
    tsv_simple        tsvector NOT NULL
) WITH (toast_tuple_target = 256);               -- keep the heap narrow: `doc` goes to TOAST...
-- ...and only `doc` (read for the returned page only): every other column stays in the heap row
-- (MAIN, compressed if needed), otherwise filters and facets pay a TOAST fetch per row.
ALTER TABLE {TABLE} ALTER COLUMN index_id SET STORAGE MAIN, ALTER COLUMN id SET STORAGE MAIN,
    ALTER COLUMN site_id SET STORAGE MAIN, ALTER COLUMN name SET STORAGE MAIN,
    ALTER COLUMN title_sort SET STORAGE MAIN, ALTER COLUMN state SET STORAGE MAIN,
    ALTER COLUMN capacity SET STORAGE MAIN, ALTER COLUMN dataset_type SET STORAGE MAIN,
    ALTER COLUMN permission_labels SET STORAGE MAIN,
    ALTER COLUMN tsv_fr SET STORAGE MAIN, ALTER COLUMN tsv_simple SET STORAGE MAIN,
    ALTER COLUMN fields SET STORAGE MAIN;
CREATE INDEX IF NOT EXISTS {TABLE}_fields_idx ON {TABLE} USING gin (fields jsonb_path_ops);
CREATE INDEX IF NOT EXISTS {TABLE}_tsv_fr_idx ON {TABLE} USING gin (tsv_fr);
CREATE INDEX IF NOT EXISTS {TABLE}_tsv_simple_idx ON {TABLE} USING gin (tsv_simple);
CREATE INDEX IF NOT EXISTS {TABLE}_labels_idx ON {TABLE} USING gin (permission_labels);
CREATE INDEX IF NOT EXISTS {TABLE}_id_idx ON {TABLE} (id);
CREATE INDEX IF NOT EXISTS {TABLE}_modified_idx ON {TABLE} (metadata_modified);
CREATE INDEX IF NOT EXISTS {TABLE}_title_idx ON {TABLE} (title_sort);
"""

_table_ready = False


def ensure_table() -> None:
    """Create the index table once per process (idempotent, race-safe)."""
    global _table_ready
    if _table_ready:
        return
    assert model.meta.engine is not None, 'CKAN model not initialised'
    with model.meta.engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:t))"),
                     {'t': TABLE})
        conn.exec_driver_sql(DDL)
    _table_ready = True


# ---------------------------------------------------------------- indexing

# weight A..D for the tsvector (ts_rank gives A the highest weight)
WEIGHTS = {
    'A': ('title',),
    'B': ('tags', 'organization', 'organization_title', 'groups'),
    'C': ('notes',),
    'D': ('name', 'res_name', 'res_description', 'res_format', 'author',
          'maintainer', 'license_id', 'url'),
}


def _as_strings(value: Any) -> list[str]:
    values = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for v in values:
        if v is None or isinstance(v, dict):
            continue
        out.append(('true' if v else 'false') if isinstance(v, bool) else str(v))
    return out


def _text_for(doc: dict[str, Any], keys: Iterable[str]) -> str:
    return unaccent(' '.join(' '.join(_as_strings(doc.get(k))) for k in keys))


def _extras_text(doc: dict[str, Any]) -> str:
    keys = [k for k in doc if k.startswith(('extras_', 'vocab_'))]
    return _text_for(doc, keys)


def upsert(doc: dict[str, Any]) -> None:
    doc = dict(doc)
    try:  # the organisation title is only in the serialised dataset
        org = json.loads(doc.get('data_dict') or '{}').get('organization')
        doc_for_text = dict(doc, organization_title=(org or {}).get('title'))
    except ValueError:
        doc_for_text = doc
    doc_for_text['name'] = (doc.get('name') or '').replace('-', ' ')

    fields = {k: _as_strings(v) for k, v in doc.items()
              if k not in ('data_dict', 'validated_data_dict')}
    fields = {k: v for k, v in fields.items() if v}
    texts = {w: _text_for(doc_for_text, keys) for w, keys in WEIGHTS.items()}
    texts['D'] += ' ' + _extras_text(doc)

    tsv = ' || '.join(
        "setweight(to_tsvector(CAST(:cfg AS regconfig), :t{w}), '{w}')".format(w=w)
        for w in 'ABCD')
    sql = f"""
    INSERT INTO {TABLE} (index_id, id, site_id, name, title_sort, state,
        capacity, dataset_type, permission_labels,
        metadata_created, metadata_modified, doc, fields,
        tsv_fr, tsv_simple)
    VALUES (:index_id, :id, :site_id, :name, :title_sort, :state,
        :capacity, :dataset_type, CAST(:labels AS text[]),
        CAST(:created AS timestamptz), CAST(:modified AS timestamptz),
        CAST(:doc AS jsonb), CAST(:fields AS jsonb),
        {tsv.replace(':cfg', "'french'")}, {tsv.replace(':cfg', "'simple'")})
    ON CONFLICT (index_id) DO UPDATE SET
        id = EXCLUDED.id, site_id = EXCLUDED.site_id, name = EXCLUDED.name,
        title_sort = EXCLUDED.title_sort, state = EXCLUDED.state,
        capacity = EXCLUDED.capacity, dataset_type = EXCLUDED.dataset_type,
        permission_labels = EXCLUDED.permission_labels,
        metadata_created = EXCLUDED.metadata_created,
        metadata_modified = EXCLUDED.metadata_modified,
        doc = EXCLUDED.doc,
        fields = EXCLUDED.fields, tsv_fr = EXCLUDED.tsv_fr,
        tsv_simple = EXCLUDED.tsv_simple
    """
    params = {
        'index_id': doc['index_id'], 'id': doc['id'],
        'site_id': doc.get('site_id'), 'name': doc.get('name'),
        'title_sort': unaccent(doc.get('title') or doc.get('name') or '').lower(),
        'state': doc.get('state'), 'capacity': doc.get('capacity'),
        'dataset_type': doc.get('dataset_type'),
        'labels': _as_strings(doc.get('permission_labels', [])),
        'created': doc.get('metadata_created'),
        'modified': doc.get('metadata_modified'),
        'doc': json.dumps(doc, default=str), 'fields': json.dumps(fields),
    }
    params.update({'t' + w: t for w, t in texts.items()})
    model.Session.execute(sa.text(sql), params)


# ---------------------------------------------------------------- querying

SORT_COLUMNS = {
    'score': 'score',
    'title_string': 'title_sort',
    'title': 'title_sort',
    'name': 'name',
    'metadata_modified': 'metadata_modified',
    'metadata_created': 'metadata_created',
}
SORT_RE = re.compile(r'^\s*([\w.\-]+)\s+(asc|desc)\s*$', re.I)


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return list(v) if isinstance(v, (list, tuple)) else [v]


class Results:
    """Duck-types pysolr.Results for what CKAN reads from it."""

    def __init__(self, docs, hits, facets):
        self.docs, self.hits, self.facets = docs, hits, facets

    def __len__(self):
        return len(self.docs)

    def __iter__(self):
        return iter(self.docs)


def build_where(q: str | None, fq: Any) -> tuple[str, dict[str, Any], str]:
    """Returns (where_sql, params, rank_sql)."""
    comp = Compiler()
    conds = []
    q = check_text(q or '', 'q', MAX_QUERY_LENGTH).strip()
    rank = '0.0'
    if q and q not in ('*:*', '*', '""', "''"):
        if ':' in q:  # fielded query: use the Solr-subset parser
            conds.append(comp.compile(parse(q, 'q')))
            if comp.text_terms:  # for the ranking only: a bounded prefix will do
                p = comp.bind(' '.join(comp.text_terms)[:MAX_QUERY_LENGTH])
                rank = (f"ts_rank(tsv_fr, plainto_tsquery('french', {p})) + "
                        f"ts_rank(tsv_simple, plainto_tsquery('simple', {p}))")
        else:  # free text, web-search syntax ("phrase", -word, OR)
            p = comp.bind(free_text(q))
            conds.append(f"(tsv_fr @@ websearch_to_tsquery('french', {p}) OR "
                         f"tsv_simple @@ websearch_to_tsquery('simple', {p}))")
            rank = (f"ts_rank(tsv_fr, websearch_to_tsquery('french', {p})) + "
                    f"ts_rank(tsv_simple, websearch_to_tsquery('simple', {p}))")
    for f in _as_list(fq):
        if isinstance(f, str) and not f.strip():
            continue  # CKAN sends empty filters; anything else is parsed
        conds.append(comp.compile(parse(f, 'fq')))
    return (' AND '.join(conds) or 'TRUE'), comp.params, rank


def build_order(sort: str | None) -> str:
    sort = check_text(sort or 'score desc, metadata_modified desc', 'sort')
    items = [item for item in sort.split(',') if item.strip()]
    if len(items) > MAX_SORT_KEYS:
        raise SearchQueryError('sort has more than %d fields' % MAX_SORT_KEYS)
    parts = []
    for item in items:
        m = SORT_RE.match(item)
        if not m:
            raise SearchQueryError('Invalid "sort" parameter')
        field, direction = m.group(1), m.group(2).upper()
        col = SORT_COLUMNS.get(field)
        if col is None:  # any other indexed field, sorted as text
            col = "(fields -> '%s' ->> 0)" % field.replace("'", '')
        parts.append(f'{col} {direction} NULLS LAST')
    parts.append('id ASC')
    return ', '.join(parts)


def int_param(kw: dict[str, Any], name: str, default: int, low: int = 0) -> int:
    """An integer search parameter within low..MAX_OFFSET (CKAN's validators
    only check start >= 0: PostgreSQL would fail on an OFFSET beyond bigint)."""
    value = kw.get(name)
    if value is None or value == '':
        return default
    try:
        n = int(value)
    except (TypeError, ValueError):  # ValueError also for > 4300 digits
        raise SearchQueryError('%s must be an integer' % name) from None
    if not low <= n <= MAX_OFFSET:
        raise SearchQueryError('%s must be between %d and %d' % (name, low, MAX_OFFSET))
    return n


# SQLSTATE classes that only the statement's values can cause (here: the
# user's query): 22 "data exception", 54 "program limit exceeded".
USER_ERROR_CLASSES = ('22', '54')


class PgConnection:
    """The subset of pysolr.Solr used by ckan.lib.search."""

    url = 'postgresql:' + TABLE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        ensure_table()

    # -- writes (joined to the current CKAN transaction) --
    def add(self, docs: list[dict[str, Any]], commit: bool = True, **kw: Any) -> None:
        for doc in docs:
            upsert(doc)

    def delete(self, id: Any = None, q: str | None = None,
               commit: bool = True, **kw: Any) -> None:
        if id is not None:
            model.Session.execute(sa.text(f'DELETE FROM {TABLE} WHERE id = :id'),
                                  {'id': id})
        if q is not None:
            where, params, _ = build_where(q, None)
            model.Session.execute(sa.text(f'DELETE FROM {TABLE} WHERE {where}'),
                                  params)

    def commit(self, **kw: Any) -> None:
        model.Session.commit()

    # -- reads --
    def search(self, q: str = '*:*', **kw: Any) -> Results:
        try:
            return self._search(q, **kw)
        except sa.exc.DBAPIError as e:
            # a safety net behind the checks of solrsyntax: a query PostgreSQL
            # refuses for its values is the caller's error (400), not a 500
            code = getattr(e.orig, 'pgcode', None) or ''
            if code[:2] not in USER_ERROR_CLASSES:
                raise
            log.warning('search refused by PostgreSQL: %s', e.orig)
            # the transaction is aborted: CKAN's error page still reads the database
            model.Session.rollback()
            raise SearchQueryError('PostgreSQL refused the query: %s'
                                   % e.orig.diag.message_primary) from None

    def _search(self, q: str, **kw: Any) -> Results:
        where, params, rank = build_where(q, kw.get('fq'))
        order = build_order(kw.get('sort'))
        rows = int_param(kw, 'rows', 10)
        start = int_param(kw, 'start', 0)
        s = model.Session

        hits = s.execute(sa.text(f'SELECT count(*) FROM {TABLE} WHERE {where}'),
                         params).scalar()
        docs = []
        if rows:
            sql = (f'SELECT doc, {rank} AS score FROM {TABLE} WHERE {where} '
                   f'ORDER BY {order} LIMIT :_rows OFFSET :_start')
            fl = [f for f in re.split(r'[\s,]+', kw.get('fl') or '*') if f]
            for doc, score in s.execute(sa.text(sql),
                                        dict(params, _rows=rows, _start=start)):
                doc['score'] = float(score)
                docs.append(doc if '*' in fl else
                            {k: doc[k] for k in fl if k in doc})

        facet_fields: dict[str, list[Any]] = {}
        wanted = [check_text(str(f), 'facet.field')
                  for f in _as_list(kw.get('facet.field'))]
        if wanted and str(kw.get('facet', 'false')).lower() == 'true':
            # a negative facet.limit means no limit, as in Solr
            limit = int_param(kw, 'facet.limit', 50, low=-MAX_OFFSET)
            mincount = int_param(kw, 'facet.mincount', 1)
            # one pass over the matching rows for all facet fields
            sql = (f'SELECT k, v, count(*) AS n FROM {TABLE}, '
                   f'unnest(CAST(:_facets AS text[])) AS k, '
                   f'jsonb_array_elements_text(fields -> k) AS v '
                   f'WHERE {where} GROUP BY k, v HAVING count(*) >= :_min '
                   f'ORDER BY k, n DESC, v ASC')
            counts: dict[str, list[tuple[str, int]]] = {f: [] for f in wanted}
            for k, v, n in s.execute(sa.text(sql),
                                     dict(params, _facets=wanted, _min=mincount)):
                counts[k].append((v, n))
            for f, pairs in counts.items():
                pairs = pairs if limit < 0 else pairs[:limit]
                facet_fields[f] = [x for pair in pairs for x in pair]
        return Results(docs, hits, {'facet_fields': facet_fields})
