"""Pure unit tests of the Solr-subset -> SQL translation (no database).
Run: venv/bin/python -m pytest ckanext-territoire/tests -q"""
import json
import random
import re
from collections import Counter
from datetime import datetime

import pytest

from ckan.lib.search.common import SearchQueryError
from ckanext.territoire.backend import build_order, build_where, int_param
from ckanext.territoire.solrsyntax import (MAX_CLAUSES, MAX_DEPTH, MAX_OFFSET, MAX_QUERY_LENGTH,
                                           MAX_SORT_KEYS, Compiler, date_math, like_escape, parse,
                                           unaccent)


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


# ------------------------------------------------ malformed input: a SearchQueryError (HTTP 400), never a 500

def refused(call, *args):
    """The message of the SearchQueryError that ``call(*args)`` raises."""
    with pytest.raises(SearchQueryError) as error:
        call(*args)
    return str(error.value)


def parse_and_compile(q):
    return Compiler().compile(parse(q))


def test_nul_lone_surrogates_and_non_strings_are_refused():
    # PostgreSQL text cannot hold NUL; a JSON "\udc80" escape is not encodable in UTF-8
    assert refused(build_where, 'eau\x00', None) == 'q contains a NUL character'
    assert refused(build_where, 'tags:eau\x00', None) == 'q contains a NUL character'
    assert refused(build_where, None, ['+capacity:public', 'tags:\x00']) == 'fq contains a NUL character'
    assert refused(build_order, 'title_string\x00 asc') == 'sort contains a NUL character'
    assert 'lone surrogate' in refused(build_where, 'eau \udc80', None)
    assert 'lone surrogate' in refused(build_where, None, 'tags:\udc80')
    assert refused(build_where, None, [1]) == 'fq must be a string'


def test_lengths_terms_and_sort_keys_are_bounded():
    assert build_where('eau ' * (MAX_QUERY_LENGTH // 4), None)[0] != 'TRUE'
    assert refused(build_where, 'e' * (MAX_QUERY_LENGTH + 1), None) == 'q is longer than 10000 characters'
    assert refused(build_where, 'tags:eau ' * 2**17, None) == 'q is longer than 10000 characters'
    assert refused(build_where, None, 'tags:eau ' * 2**17) == 'fq is longer than 100000 characters'
    assert 'term longer than' in refused(parse, 'tags:"%s"' % ('eau ' * 3000))
    terms = ['tags:t%d' % i for i in range(MAX_CLAUSES + 1)]
    assert parse(' OR '.join(terms[:-1]))[0] == 'or'
    assert refused(parse, ' OR '.join(terms), 'fq') == 'fq has more than 1024 terms'
    # unaccent() (NFKD) turns U+FDFA into 18 characters: the lengths are bounded again afterwards
    assert refused(build_where, '\ufdfa' * 600, None) == 'q is longer than 10000 characters once unaccented'
    assert 'a text term is longer than' in refused(parse_and_compile, 'title:' + '\ufdfa' * 600)
    assert 'longer than 100000 characters in all' in refused(
        build_where, None, ' '.join(['text:' + '\ufdfa' * 500] * 12))
    assert build_order(', '.join(['name asc'] * MAX_SORT_KEYS))
    assert refused(build_order, ', '.join(['name asc'] * (MAX_SORT_KEYS + 1))) == 'sort has more than 16 fields'


def test_nesting_is_bounded_instead_of_a_recursion_error():
    inside = '(' * (MAX_DEPTH - 1) + 'tags:eau' + ')' * (MAX_DEPTH - 1)   # the field is one level too
    assert sql(inside)[0] == '(fields @> CAST(:p0 AS jsonb))'
    for deep in ('(' + inside + ')', '(' * 250 + 'a:b' + ')' * 250, '-' * 2000 + 'a:b',
                 'NOT ' * 2000 + 'a:b', 'a:' * 2000 + 'b', 'a:(' * 250 + 'b'):
        assert refused(parse, deep, 'q') == 'q is nested more than 16 levels deep'


def test_free_text_negations_are_bounded_for_postgresql_s_tsquery_stack():
    # websearch_to_tsquery fails past 32 stacked "-" ("tsquery stack too small")
    for many in ('-' * (MAX_DEPTH + 1) + 'eau', '- ' * 40 + 'eau', '(-!' * 40 + 'eau', '-\u3000' * 40 + 'eau'):
        assert refused(build_where, many, None) == 'q has more than 16 "-" in a row'
    assert refused(build_where, '\ufe63' * 40 + 'eau', None) == 'q has more than 16 "-" in a row'  # NFKD: "-"
    assert build_where('-' * MAX_DEPTH + 'eau', None)[0] != 'TRUE'
    assert build_where('saint-jean-de-luz ' * 20 + '-paris -lyon', None)[0] != 'TRUE'


def test_date_math_stays_within_years_1_to_9999():
    assert refused(date_math, 'NOW-99999999999YEARS') == "Date math 'NOW-99999999999YEARS' is outside years 1..9999"
    assert 'outside years 1..9999' in refused(date_math, 'NOW+99999999999DAYS')
    assert 'outside years 1..9999' in refused(date_math, 'NOW-' + '9' * 5000 + 'SECONDS')  # int() refuses > 4300 digits
    assert 'outside years 1..9999' in refused(parse_and_compile, 'metadata_modified:[NOW-10000YEARS TO NOW]')
    # years below 1000 keep 4 digits, so that they still compare as strings with the indexed dates
    assert re.match(r'^0\d{3}-\d\d-\d\dT', date_math('NOW-%dYEARS' % (datetime.now().year - 5)))


def test_like_patterns_escape_backslashes():
    # a pattern ending with a lone backslash is a PostgreSQL error ("must not end with escape character")
    assert like_escape('a\\b%c_d') == 'a\\\\b\\%c\\_d'
    where, params = sql('name:*eau\\\\')
    assert 'LIKE' in where and '%eau\\\\' in params.values()
    where, params = sql('title:"eau\\\\"')
    assert '%eau\\\\%' in params.values()


def test_integer_parameters_stay_within_solr_s_32_bits():
    assert int_param({'start': '20'}, 'start', 0) == 20 and int_param({}, 'rows', 10) == 10
    assert int_param({'facet.limit': -1}, 'facet.limit', 50, low=-MAX_OFFSET) == -1
    for value in (str(2**63), 2**31, -1, '1e3', '9' * 5000, [1]):
        assert refused(int_param, {'start': value}, 'start', 0).startswith('start must be')


PIECES = ['"', '\\', '\x00', '(', ')', '[', ']', '{', '}', '*', ':', '~', '^', '!', '-', '+', '?', '%', '_',
          ' ', '&&', '||', ' AND ', ' OR ', ' NOT ', ' TO ', 'NOW', 'NOW-1DAY', 'NOW-99999999999YEARS', '9' * 30,
          'tags', 'title', 'name', 'text', 'metadata_modified', 'eau', 'énergie', '🙂', '\udc80', ',', 'asc',
          'desc', 'x' * 500, '\ufdfa' * 100, '\ufe63']


def test_seeded_random_input_only_ever_raises_search_query_error():
    rng = random.Random(19)
    outcomes = Counter()
    for _ in range(3000):
        text = ''.join(rng.choice(PIECES) for _ in range(rng.randint(1, 40)))
        for call, args in ((build_where, (text, None)), (build_where, (None, [text])), (build_order, (text,))):
            try:
                call(*args)
                outcomes['ok'] += 1
            except SearchQueryError:
                outcomes['refused'] += 1
    assert outcomes['ok'] > 1000 and outcomes['refused'] > 1000, outcomes
