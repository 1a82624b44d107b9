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

Malformed or oversized input (see the limits below) raises SearchQueryError,
which CKAN's action API answers with HTTP 400 "Search Query Error" and the
dataset page with a 400 page; any other exception would be a 500.
"""
from __future__ import annotations

import json
import re
import unicodedata
from datetime import MAXYEAR, MINYEAR, datetime, timezone
from typing import Any

from dateutil.relativedelta import relativedelta

from ckan.lib.search.common import SearchQueryError

# ---------------------------------------------------------------- limits
# q, sort, any one term (also once unaccented): people and CKAN's pages write a
# few hundred characters; a 100 kB free-text q exhausted PostgreSQL's stack, a
# 1 MB one tied a worker for over a minute.
MAX_QUERY_LENGTH = 10_000
# one fq, and the text terms of one search in all: CKAN appends its own
# filters to fq, e.g. ~50 characters of permission label per organisation the
# user belongs to.
MAX_FILTER_LENGTH = 100_000
# terms in one q or fq: Solr's default maxBooleanClauses; bounds the SQL size.
MAX_CLAUSES = 1024
# nested (...), field:... and -/!/NOT prefixes: the parser is recursive, and
# PostgreSQL's tsquery parser has a 32-operator stack for a free-text q's "-".
# Real queries nest 2 or 3 levels.
MAX_DEPTH = 16
# date math results: what Python's datetime (and a 4-digit ISO year) can hold.
MIN_YEAR, MAX_YEAR = MINYEAR, MAXYEAR
# start, rows, facet.limit/mincount: Solr reads them as 32-bit ints; PostgreSQL
# refuses a LIMIT/OFFSET beyond bigint with an error (a 500).
MAX_OFFSET = 2**31 - 1
# fields in sort: each one is an ORDER BY expression.
MAX_SORT_KEYS = 16

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


def unaccent_bounded(s: str, what: str) -> str:
    """unaccent() of a text for PostgreSQL's full-text search, bounded again
    afterwards: NFKD can make a text 18 times longer (U+FDFA becomes four
    words) and turn other characters into "-" (U+FE63, U+FF0D)."""
    out = unaccent(s)
    if len(out) > MAX_QUERY_LENGTH:
        raise SearchQueryError('%s is longer than %d characters once unaccented'
                               % (what, MAX_QUERY_LENGTH))
    return out


def shorten(s: str, n: int = 40) -> str:
    """A user's text quoted in an error message, cut to a readable length."""
    return repr(s if len(s) <= n else s[:n] + '...')


def check_text(value: Any, what: str, max_length: int = MAX_QUERY_LENGTH) -> str:
    """Refuse what would fail further down: a non-string (JSON bodies can send
    anything), an over-long string, NUL (PostgreSQL text cannot hold it) and
    lone surrogates (JSON "\\udc80" escapes: not encodable in UTF-8)."""
    if not isinstance(value, str):
        raise SearchQueryError('%s must be a string' % what)
    if len(value) > max_length:
        raise SearchQueryError('%s is longer than %d characters' % (what, max_length))
    if '\x00' in value:
        raise SearchQueryError('%s contains a NUL character' % what)
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        raise SearchQueryError('%s is not valid Unicode (lone surrogate)' % what) from None
    return value


DATE_MATH_RE = re.compile(
    r'^NOW((?:[+-][0-9]+(?:YEAR|MONTH|DAY|HOUR|MINUTE|SECOND)S?)*)(?:/(DAY|HOUR))?$')


def date_math(value: str) -> str:
    """'NOW-1DAY' -> ISO UTC string comparable with indexed dates."""
    m = DATE_MATH_RE.match(value)
    if not m:
        raise SearchQueryError('Unsupported date math %s' % shorten(value))
    dt = datetime.now(timezone.utc).replace(tzinfo=None)
    try:  # beyond years 1..9999: OverflowError or ValueError from datetime or int()
        for sign, n, unit in re.findall(r'([+-])([0-9]+)([A-Z]+?)S?(?=[+-]|$)', m.group(1)):
            delta = relativedelta(**{unit.lower() + 's': int(n)})
            dt = dt + delta if sign == '+' else dt - delta
    except (OverflowError, ValueError):
        raise SearchQueryError('Date math %s is outside years %d..%d'
                               % (shorten(value), MIN_YEAR, MAX_YEAR)) from None
    if m.group(2) == 'DAY':
        dt = dt.replace(hour=0, minute=0, second=0, microsecond=0)
    elif m.group(2) == 'HOUR':
        dt = dt.replace(minute=0, second=0, microsecond=0)
    # isoformat pads years below 1000 to 4 digits (strftime's %Y does not),
    # which keeps the strings comparable with the indexed ones
    return dt.isoformat(timespec='microseconds') + 'Z'


def like_escape(value: str) -> str:
    """A literal for LIKE: backslash first, or a value ending with one would
    make the pattern end with the escape character (a PostgreSQL error)."""
    return value.replace('\\', '\\\\').replace('%', r'\%').replace('_', r'\_')


# websearch_to_tsquery stacks every "-" that follows another (spaces and
# !&|()< between them are skipped); past 32 it fails ("tsquery stack too small")
NEGATION_RUN_RE = re.compile(r'(?:-[^\w"-]*){%d}' % (MAX_DEPTH + 1))


def free_text(q: str) -> str:
    """A q without any field, for websearch_to_tsquery: unaccented."""
    text = unaccent_bounded(q, 'q')
    if NEGATION_RUN_RE.search(text):
        raise SearchQueryError('q has more than %d "-" in a row' % MAX_DEPTH)
    return text


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

    def __init__(self, s: str, what: str = 'query'):
        self.toks = tokenize(s)
        self.i = 0
        self.what = what            # 'q' or 'fq', for the error messages
        self.depth = self.clauses = 0
        for kind, val in self.toks:
            if len(val) > MAX_QUERY_LENGTH:
                raise SearchQueryError('%s has a term longer than %d characters'
                                       % (what, MAX_QUERY_LENGTH))

    def nested(self, parse, field):
        """``parse(field)`` one level deeper (bounded: the parser recurses)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SearchQueryError('%s is nested more than %d levels deep'
                                   % (self.what, MAX_DEPTH))
        node = parse(field)
        self.depth -= 1
        return node

    def leaf(self, node):
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise SearchQueryError('%s has more than %d terms' % (self.what, MAX_CLAUSES))
        return node

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def next(self):
        tok = self.peek()
        self.i += 1
        return tok

    def parse(self):
        node = self.or_expr(None)
        if self.i < len(self.toks):
            raise SearchQueryError('Could not parse %s near %s'
                                   % (self.what, shorten(self.toks[self.i][1])))
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
            return ('not', self.nested(self.unary, field))
        if kind == 'prefix' and val == '+':
            self.next()
        return self.atom(field)

    def atom(self, field):
        kind, val = self.next()
        if kind == 'lp':
            node = self.nested(self.or_expr, field)
            if self.next()[0] != 'rp':
                raise SearchQueryError('Unbalanced parentheses in %s' % self.what)
            return node
        if kind == 'field':
            return self.nested(self.atom, val[:-1])
        if kind == 'phrase':
            return self.leaf(('term', field, re.sub(r'\\(.)', r'\1', val[1:-1]), True))
        if kind == 'range':
            m = re.match(r'[\[{]\s*(\S+)\s+TO\s+(\S+)\s*[\]}]$', val)
            if not m:
                raise SearchQueryError('Bad range %s' % shorten(val))
            lo, hi = (v.strip('"') for v in m.groups())
            return self.leaf(('range', field, lo, hi))
        if kind in ('word', 'prefix', 'op'):
            if '^' in val or '~' in val:
                raise SearchQueryError('Boosts/fuzzy queries are not supported')
            return self.leaf(('term', field, re.sub(r'\\(.)', r'\1', val), False))
        raise SearchQueryError('Unexpected end of %s' % self.what)


class Compiler:
    """Turns parse trees into SQL with bound parameters (never string
    interpolation of user values)."""

    def __init__(self):
        self.params: dict[str, Any] = {}
        self.text_terms: list[str] = []
        self.text_size = 0

    def unaccent(self, value: str) -> str:
        """A text term unaccented, the search's text terms bounded in all too:
        each one is a tsquery or an ILIKE evaluated on every candidate row."""
        value = unaccent_bounded(value, 'a text term')
        self.text_size += len(value)
        if self.text_size > MAX_FILTER_LENGTH:
            raise SearchQueryError('The text terms are longer than %d characters in all'
                                   % MAX_FILTER_LENGTH)
        return value

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
        value = self.unaccent(value)
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
            like = '%' + like_escape(value) + '%'
            return self.elements(NGRAM_FIELDS[field], 'e ILIKE %s' % self.bind(like))
        if field in TEXT_FIELDS:
            like = '%' + like_escape(self.unaccent(value)) + '%'
            return self.elements(field, 'e ILIKE %s' % self.bind(like))
        if not quoted and ('*' in value or '?' in value):
            like = like_escape(value).replace('*', '%').replace('?', '_')
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


def parse(s: str, what: str = 'query'):
    """Parse tree of one q or fq (``what`` names it in error messages)."""
    return Parser(check_text(s, what, MAX_FILTER_LENGTH), what).parse()
