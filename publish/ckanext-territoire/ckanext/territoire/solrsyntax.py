"""Translate the subset of Solr/Lucene query syntax that CKAN produces into
a SQL WHERE clause over the ``territoire_search_index`` table.

Supported: ``field:value``, ``field:"a phrase"``, ``field:(a OR b)``,
``field:[lo TO hi]``, ``field:*``, ``field:pre*`` wildcards, ``*:*``,
``+``/``-``/``!``/``NOT`` prefixes, ``AND``/``OR``/``&&``/``||`` and
parentheses.  Bare words (no field, or the ``text`` field) become
full-text conditions on the tsvector columns.  The default operator is AND
(CKAN sends ``q.op=AND``).

Unsupported (raise SearchQueryError or behave literally): boosts ``^``,
fuzzy ``~``, local params ``{!...}``.  Date math is limited to
``NOW``, ``NOW-3DAYS``, ``NOW+1HOUR``, ``NOW/DAY`` style values in ranges.
"""
from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime, timezone
from typing import Any

from dateutil.relativedelta import relativedelta

from ckan.lib.search.common import SearchQueryError

TOKEN_RE = re.compile(r'''
    (?P<ws>\s+)
  | (?P<lp>\()
  | (?P<rp>\))
  | (?P<range>[\[{][^\]}]*[\]}])
  | (?P<phrase>"(?:[^"\\]|\\.)*")
  | (?P<op>(?:&&|\|\||AND|OR|NOT)(?=[\s()"]|$))
  | (?P<prefix>[+\-!](?=[^\s]))
  | (?P<field>(?:[A-Za-z_][\w.\-]*|\*):(?=[^\s]))
  | (?P<word>(?:\\.|[^\s()"\\])+)
''', re.X)

# Fields analysed as text by CKAN's Solr schema: matched with ILIKE on the
# stored values instead of exact equality.
TEXT_FIELDS = {'title', 'notes', 'res_name', 'res_description', 'author',
               'maintainer', 'urls', 'res_url'}
NGRAM_FIELDS = {'name_ngram': 'name', 'title_ngram': 'title'}
FULLTEXT_FIELDS = {None, 'text'}
# Fields stored as real columns of the index table (exact matches only).
COLUMN_FIELDS = {'site_id', 'state', 'capacity', 'dataset_type'}


def unaccent(s: str) -> str:
    return ''.join(c for c in unicodedata.normalize('NFKD', s)
                   if not unicodedata.combining(c))


DATE_MATH_RE = re.compile(
    r'^NOW((?:[+-]\d+(?:YEAR|MONTH|DAY|HOUR|MINUTE|SECOND)S?)*)(?:/(DAY|HOUR))?$')


def date_math(value: str) -> str:
    """'NOW-1DAY' -> ISO UTC string comparable with indexed dates."""
    m = DATE_MATH_RE.match(value)
    if not m:
        raise SearchQueryError('Unsupported date math %r' % value)
    dt = datetime.now(timezone.utc).replace(tzinfo=None)
    for sign, n, unit in re.findall(r'([+-])(\d+)([A-Z]+?)S?(?=[+-]|$)', m.group(1)):
        delta = relativedelta(**{unit.lower() + 's': int(n)})
        dt = dt + delta if sign == '+' else dt - delta
    if m.group(2) == 'DAY':
        dt = dt.replace(hour=0, minute=0, second=0, microsecond=0)
    elif m.group(2) == 'HOUR':
        dt = dt.replace(minute=0, second=0, microsecond=0)
    return dt.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def tokenize(s: str) -> list[tuple[str, str]]:
    out = []
    for m in TOKEN_RE.finditer(s):
        kind = m.lastgroup
        if kind != 'ws':
            out.append((kind, m.group()))
    return out


class Parser:
    """Recursive descent: or_expr := and_expr (OR and_expr)*;
    and_expr := unary (AND? unary)*; unary := [+-!NOT] atom;
    atom := '(' or_expr ')' | field: atom | phrase | range | word"""

    def __init__(self, s: str):
        self.toks = tokenize(s)
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def next(self):
        tok = self.peek()
        self.i += 1
        return tok

    def parse(self):
        node = self.or_expr(None)
        if self.i < len(self.toks):
            raise SearchQueryError('Could not parse query near %r'
                                   % self.toks[self.i][1])
        return node

    def or_expr(self, field):
        parts = [self.and_expr(field)]
        while self.peek()[0] == 'op' and self.peek()[1] in ('OR', '||'):
            self.next()
            parts.append(self.and_expr(field))
        return parts[0] if len(parts) == 1 else ('or', parts)

    def and_expr(self, field):
        parts = [self.unary(field)]
        while True:
            kind, val = self.peek()
            if kind is None or kind == 'rp' or (
                    kind == 'op' and val in ('OR', '||')):
                break
            if kind == 'op' and val in ('AND', '&&'):
                self.next()
            parts.append(self.unary(field))
        return parts[0] if len(parts) == 1 else ('and', parts)

    def unary(self, field):
        kind, val = self.peek()
        if (kind == 'prefix' and val in '-!') or (kind == 'op' and val == 'NOT'):
            self.next()
            return ('not', self.unary(field))
        if kind == 'prefix' and val == '+':
            self.next()
        return self.atom(field)

    def atom(self, field):
        kind, val = self.next()
        if kind == 'lp':
            node = self.or_expr(field)
            if self.next()[0] != 'rp':
                raise SearchQueryError('Unbalanced parentheses in query')
            return node
        if kind == 'field':
            return self.atom(val[:-1])
        if kind == 'phrase':
            return ('term', field, re.sub(r'\\(.)', r'\1', val[1:-1]), True)
        if kind == 'range':
            m = re.match(r'[\[{]\s*(\S+)\s+TO\s+(\S+)\s*[\]}]$', val)
            if not m:
                raise SearchQueryError('Bad range %r' % val)
            lo, hi = (v.strip('"') for v in m.groups())
            return ('range', field, lo, hi)
        if kind in ('word', 'prefix', 'op'):
            if '^' in val or '~' in val:
                raise SearchQueryError('Boosts/fuzzy queries are not supported')
            return ('term', field, re.sub(r'\\(.)', r'\1', val), False)
        raise SearchQueryError('Unexpected end of query')


class Compiler:
    """Turns parse trees into SQL with bound parameters (never string
    interpolation of user values)."""

    def __init__(self):
        self.params: dict[str, Any] = {}
        self.text_terms: list[str] = []

    def bind(self, value: Any) -> str:
        name = 'p%d' % len(self.params)
        self.params[name] = value
        return ':' + name

    def compile(self, node) -> str:
        op = node[0]
        if op in ('and', 'or'):
            joiner = ' AND ' if op == 'and' else ' OR '
            return '(' + joiner.join(self.compile(n) for n in node[1]) + ')'
        if op == 'not':
            return '(NOT %s)' % self.compile(node[1])
        if op == 'range':
            return self.range(*node[1:])
        return self.term(*node[1:])

    def fulltext(self, value: str, phrase: bool) -> str:
        value = unaccent(value)
        self.text_terms.append(value)
        fn = 'phraseto_tsquery' if phrase else 'plainto_tsquery'
        p = self.bind(value)
        return ("(tsv_fr @@ {fn}('french', {p}) OR "
                "tsv_simple @@ {fn}('simple', {p}))").format(fn=fn, p=p)

    def elements(self, field: str, cond: str) -> str:
        return ("EXISTS (SELECT 1 FROM jsonb_array_elements_text("
                "fields -> %s) AS e WHERE %s)" % (self.bind(field), cond))

    def term(self, field, value: str, quoted: bool) -> str:
        if field == '*' and value == '*':
            return 'TRUE'
        if field in FULLTEXT_FIELDS:
            if value == '*' and not quoted:
                return 'TRUE'
            return self.fulltext(value, quoted)
        if not quoted and value == '*':
            return '(fields ? %s)' % self.bind(field)
        if field in NGRAM_FIELDS:
            like = '%' + value.replace('%', r'\%').replace('_', r'\_') + '%'
            return self.elements(NGRAM_FIELDS[field], 'e ILIKE %s' % self.bind(like))
        if field in TEXT_FIELDS:
            like = '%' + unaccent(value).replace('%', r'\%').replace('_', r'\_') + '%'
            return self.elements(field, 'e ILIKE %s' % self.bind(like))
        if not quoted and ('*' in value or '?' in value):
            like = (value.replace('%', r'\%').replace('_', r'\_')
                    .replace('*', '%').replace('?', '_'))
            return self.elements(field, 'e LIKE %s' % self.bind(like))
        if field in COLUMN_FIELDS:
            return '(%s = %s)' % (field, self.bind(value))
        if field == 'permission_labels':
            return '(permission_labels @> ARRAY[CAST(%s AS text)])' % self.bind(value)
        # exact match: uses the GIN (jsonb_path_ops) index on `fields`
        return '(fields @> CAST(%s AS jsonb))' % self.bind(
            json.dumps({field: [value]}))

    def range(self, field, lo: str, hi: str) -> str:
        lo, hi = (date_math(v) if v.startswith('NOW') else v for v in (lo, hi))
        conds = []
        if lo != '*':
            conds.append('e >= %s' % self.bind(lo))
        if hi != '*':
            conds.append('e <= %s' % self.bind(hi))
        if not conds:
            return '(fields ? %s)' % self.bind(field)
        return self.elements(field, ' AND '.join(conds))


def parse(s: str):
    return Parser(s).parse()
