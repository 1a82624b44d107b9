"""Pure unit tests of the Solr-subset -> SQL translation (no database).
Run: venv/bin/python -m pytest ckanext-territoire/tests -q"""
import json

import pytest

from ckan.lib.search.common import SearchQueryError
from ckanext.territoire.backend import build_order, build_where
from ckanext.territoire.solrsyntax import Compiler, date_math, parse, unaccent


def sql(q):
    c = Compiler()
    return c.compile(parse(q)), c.params


def test_exact_field_uses_jsonb_containment():
    where, params = sql('tags:"eau potable"')
    assert where == '(fields @> CAST(:p0 AS jsonb))'
    assert json.loads(params['p0']) == {'tags': ['eau potable']}


def test_ckan_generated_filters():
    where, params = sql('+capacity:public +state:(active OR draft)')
    assert where == '((capacity = :p0) AND ((state = :p1) OR (state = :p2)))'
    where, _ = sql('+entity_type:package AND +(id:"x" OR name:"x") AND +site_id:"s"')
    assert where.count('fields @>') == 3 and '(site_id = :p3)' in where
    where, _ = sql('+permission_labels:("public" OR "member-1")')
    assert where.count('permission_labels @> ARRAY') == 2


def test_negation_and_wildcards():
    assert sql('-res_format:CSV')[0].startswith('(NOT ')
    assert sql('theme:*')[0] == '(fields ? :p0)'
    where, params = sql('name:budget*')
    assert 'LIKE' in where and params['p0'] == 'budget%'


def test_bare_words_are_full_text_and_unaccented():
    c = Compiler()
    where = c.compile(parse('Écoles tags:transport'))
    assert "plainto_tsquery('french'" in where
    assert c.text_terms == ['Ecoles']
    assert unaccent('énergie bâtiments') == 'energie batiments'


def test_match_all_and_free_text():
    assert build_where('*:*', None)[0] == 'TRUE'
    where, params, rank = build_where('qualité eau', ['organization:x'])
    assert 'websearch_to_tsquery' in where and 'ts_rank' in rank
    assert params['p0'] == 'qualite eau'


def test_ranges_and_date_math():
    where, params = sql('metadata_modified:[2020-01-01T00:00:00Z TO NOW]')
    assert 'e >= :p0 AND e <= :p1' in where
    assert params['p1'].endswith('Z') and params['p1'] > '2020'
    assert date_math('NOW/DAY').endswith('T00:00:00.000000Z')
    with pytest.raises(SearchQueryError):
        date_math('NOW-1FORTNIGHT')


def test_sort():
    assert build_order('title_string asc') == 'title_sort ASC NULLS LAST, id ASC'
    assert build_order('score desc, metadata_modified desc').startswith('score DESC')
    assert "fields -> 'theme'" in build_order('theme asc')
    with pytest.raises(SearchQueryError):
        build_order('title; drop table x')


def test_syntax_errors():
    for bad in ('foo:(', 'a^2', '(a OR b'):
        with pytest.raises(SearchQueryError):
            parse(bad)
