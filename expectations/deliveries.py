"""Expectation suites for partner deliveries, one per partner dataset, built from its format.

Each format declares its rules below (ranges, event time, completeness, meters). From them up to
three suites (plain data, ``suites.py``; evaluated inside DuckDB by ``engine.py``) per dataset:

* ``<dataset>__rows`` on the delivery's rows: value ranges, INSEE codes of the COG, the codes a
  coded column accepts (its format's ``values``), timestamps inside the delivery's period, unique
  keys (an exact copy of a record is a warning, two different records for one key are critical);
* ``<dataset>__locations``: coordinates inside France and near the row's commune;
* ``<dataset>__days`` on what the delivery says about each entity and day, computed in DuckDB:
  completeness (share of the expected hours or readings present, DST days counted right) and
  plausibility over time (a cabinet meter's daily consumption against its usual value, from a
  bounded window of earlier readings: the cost grows with the new data, not with history).

``critical`` failures quarantine the delivery; ``warning`` failures let it through, flagged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from territoire_hub.expectations.suites import CRITICAL, WARNING, Clause, Suite, expect
from territoire_hub.formats import FormatSpec
from territoire_hub.registry import Cadence, PartnerDataset
from territoire_hub.warehouse import quote_ident

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class Range:
    column: str
    min: float | None = None
    max: float | None = None
    severity: str = CRITICAL
    strict_min: bool = False
    unit: str = ""
    where: tuple[Clause, ...] = ()      # only rows matching these clauses (marts; suites.py)


@dataclass(frozen=True)
class Ordered:
    """Values of one record that cannot be in another order: ``low`` ≤ ``high`` (a minimum and a
    maximum over windows that overlap, an instant value inside its hour's extremes)."""

    low: str
    high: str
    severity: str = CRITICAL


@dataclass(frozen=True)
class Completeness:
    """``entity`` must report at least ``min_share`` of the expected readings of each day."""

    entity: str
    per_hour: int                       # readings expected per hour (1 hourly, 6 every 10 minutes)
    min_share: float = 0.9
    severity: str = WARNING


@dataclass(frozen=True)
class Meter:
    """A cumulative index read daily: consumption = today's index − the previous one."""

    entity: str
    index: str
    max_ratio_to_usual: float = 10.0   # a day above 10× the meter's median day is a spike
    history_days: int = 60


@dataclass(frozen=True)
class Location:
    """Coordinates a row carries: inside France's boxes (ref.france_boxes), and — when the row also
    carries an INSEE code — within ``max_km`` of that commune's location (ref.communes)."""

    latitude: str
    longitude: str
    code: str | None = None             # the INSEE column the coordinates should agree with
    outside_severity: str = WARNING     # [0, 0], swapped [lat, lon], a point abroad
    max_km: float = 20.0                # documented in the README ("Location by code, checked by coordinates")


@dataclass(frozen=True)
class Rules:
    ranges: tuple[Range, ...] = ()
    ordered: tuple[Ordered, ...] = ()
    period_severity: str = CRITICAL     # a record outside the delivery's period (format's event_time)
    completeness: Completeness | None = None
    meter: Meter | None = None
    location: Location | None = None
    # two different records for one key: which one is true is unknown (critical), unless the
    # format is an event stream where the last line is the latest state (staging keeps it)
    conflict_severity: str = CRITICAL


RULES: dict[str, Rules] = {
    "meteo_france_horaire": Rules(
        ranges=(Range("t", -40, 50, unit="°C"), Range("tn", -40, 50, unit="°C"), Range("tx", -40, 50, unit="°C"),
                Range("rr1", 0, 300, unit="mm"), Range("u", 0, 100, unit="%"), Range("ff", 0, 100, unit="m/s")),
        # a station is where Météo-France says: a position outside France is a broken file
        location=Location("lat", "lon", outside_severity=CRITICAL),
        completeness=Completeness("num_poste", per_hour=1),
        # TN and TX are the extremes over the hour T closes
        ordered=(Ordered("tn", "t"), Ordered("t", "tx"), Ordered("tn", "tx")),
    ),
    "meteo_france_quotidien": Rules(
        ranges=(Range("tn", -40, 50, unit="°C"), Range("tx", -40, 50, unit="°C"), Range("tm", -40, 50, unit="°C"),
                Range("rr", 0, 2000, unit="mm")),   # La Réunion: 1,825 mm in 24 h (Cilaos, 1952)
        # TN's window (18 UTC J-1 → 18 UTC J) and TX's (06 UTC J → 06 UTC J+1) overlap: TN ≤ TX
        # always; TM (the mean of day J's hours) may fall below TN after a cold evening: not checked
        ordered=(Ordered("tn", "tx"),),
    ),
    "comptage_routier_horaire": Rules(
        ranges=(Range("debit_horaire", 0, 20000, unit="veh/h"), Range("taux_d_occupation", 0, 100, unit="%")),
        completeness=Completeness("identifiant_arc", per_hour=1),
        location=Location("geo_point_lat", "geo_point_lon"),
    ),
    "eclairage_capteurs": Rules(
        ranges=(Range("puissance_w", 0, 2000, unit="W"),),
        completeness=Completeness("id_capteur", per_hour=6),
    ),
    "eclairage_releves_armoire": Rules(
        ranges=(Range("index_kwh", 0, None, unit="kWh"),),
        meter=Meter("id_armoire", "index_kwh"),
    ),
    "eclairage_tickets": Rules(period_severity=WARNING),
    "eclairage_points_lumineux": Rules(
        # (TemperatureCouleur is 0 for "not given" in EclExt exports: not checked)
        ranges=(Range("puissance", 0, 2000, strict_min=True, unit="W"), Range("hauteur_feu", 0, 40, unit="m")),
    ),
    "ore_conso_commune": Rules(
        ranges=(Range("conso_totale_mwh", 0, None, unit="MWh"), Range("nb_sites", 0, None),
                # documented as a 0–1 ratio, but ORE's own extracts hold values above 1 (Grabels 2023: 1.31)
                Range("taux_de_chauffage_electrique", 0, 1, severity=WARNING)),
    ),
    "irve_statique": Rules(
        ranges=(Range("puissance_nominale", 0, 1000, strict_min=True, unit="kW"), Range("nbre_pdc", 1, 500)),
        location=Location("latitude", "longitude", code="code_insee_commune"),
    ),
    "irve_dynamique": Rules(
        # status events: two changes of one point within the same second happen; the later
        # line is the latest state (current_rows keeps it), so it is flagged, not refused
        conflict_severity=WARNING,
    ),
    "comptage_mobilites_site": Rules(location=Location("ylat", "xlong", code="fr_insee_code")),
}


def rules_for(spec: FormatSpec) -> Rules:
    return RULES.get(spec.id, Rules())


# -- the suites ----------------------------------------------------------------------------------

def _meta(check: str, column: str | None, message: str) -> dict:
    return {"check": check, "column": column, "message": message}


def dated(entry: PartnerDataset) -> bool:
    """Deliveries of this dataset cover a period their times must fall in."""
    return entry.spec.event_time is not None and entry.dataset.cadence is not Cadence.snapshot


RECORD_SUITES = ("__rows", "__locations")   # suites whose failures are each one record's (not a day's)


def judges_records(suite_name: str) -> bool:
    """A failure of this suite is one record's fault: under `quarantine: rows`, that record alone
    is set aside (a failure of the days suite is the whole file's)."""
    return suite_name.endswith(RECORD_SUITES)


def rows_suite(entry: PartnerDataset) -> Suite:
    spec, rules = entry.spec, rules_for(entry.spec)
    source = {c.name: c.source for c in spec.columns}
    expectations = [expect(
        "expect_table_columns_to_match_set",
        column_set=["_delivery_id", "_source_line", "_copies", "_versions", "_period", "_period_start", "_period_end"]
        + [c.name for c in spec.columns],
        exact_match=True, meta=_meta("schema", None, "the delivery does not have the columns of its format"))]
    for c in spec.columns:
        if c.required:
            expectations.append(expect(
                "expect_column_values_to_not_be_null", column=c.name,
                meta=_meta("missing_value", c.source, "required value is empty")))
        if c.type == "insee":
            expectations.append(expect(
                "expect_column_values_to_be_insee_communes", column=c.name,
                meta=_meta("unknown_insee_code", c.source, "{value!r} is not an INSEE commune code of the COG")))
    for r in rules.ranges:
        bounds = f"{'>' if r.strict_min else '≥'} {r.min}" if r.max is None else f"between {r.min} and {r.max}"
        expectations.append(expect(
            "expect_column_values_to_be_between", column=r.column, min_value=r.min, max_value=r.max,
            strict_min=r.strict_min, severity=r.severity,
            meta=_meta("out_of_range", source[r.column], "{value!r} is out of range: expected " + bounds
                       + (f" {r.unit}" if r.unit else ""))))
    for c in spec.columns:
        if c.values:        # a coded column: the codes its format's specification allows
            expectations.append(expect(
                "expect_column_values_to_be_in_set", column=c.name, value_set=list(c.values),
                meta=_meta("unexpected_value", c.source, "{value!r} is not a code of this column (accepted: "
                           + ", ".join(c.values) + ")")))
    for o in rules.ordered:
        message = _meta("inconsistent_values", f"{source[o.low]}, {source[o.high]}",
                        f"{source[o.low]} {{{o.low}}} is above {source[o.high]} {{{o.high}}} in the same record")
        message["value_from"] = o.low
        expectations.append(expect(
            "expect_column_pair_values_a_to_be_greater_than_b", column_A=o.high, column_B=o.low, or_equal=True,
            ignore_row_if="either_value_is_missing", severity=o.severity, meta=message))
    if spec.grain:
        key = ", ".join(source[g] for g in spec.grain)
        expectations.append(expect(
            "expect_column_values_to_be_between", column="_copies", max_value=1, severity=WARNING,
            meta=_meta("duplicate_record", key, "the same record is delivered {value} times (kept once)")))
        expectations.append(expect(
            "expect_column_values_to_be_between", column="_versions", max_value=1,
            severity=rules.conflict_severity,
            meta=_meta("conflicting_duplicates", key, "{value} different records share this key")))
    if dated(entry):
        # each row against its delivery's period (rows_sql carries it on every row)
        message = _meta("outside_period", source[spec.event_time], "{value} is outside the delivery's period {period}")
        message["value_from"] = spec.event_time
        common = dict(or_equal=True, ignore_row_if="either_value_is_missing", severity=rules.period_severity,
                      meta=message)
        pair = "expect_column_pair_values_a_to_be_greater_than_b"
        expectations.append(expect(pair, column_A=spec.event_time, column_B="_period_start", **common))
        expectations.append(expect(pair, column_A="_period_end", column_B=spec.event_time, **common))
    return Suite(name=f"{entry.key}__rows", expectations=expectations,
                 meta={"partner": entry.partner.id, "dataset": entry.dataset.id, "format": spec.id})


def days_suite(entry: PartnerDataset) -> Suite | None:
    rules = rules_for(entry.spec)
    expectations = []
    if rules.completeness:
        c = rules.completeness
        expectations.append(expect(
            "expect_column_values_to_be_between", column="share_present", min_value=c.min_share,
            severity=c.severity,
            meta=_meta("incomplete_day", c.entity,
                       "{entity} on {day}: {present} of {expected} expected readings ({value:.0%}; "
                       f"at least {c.min_share:.0%} expected)")))
    if rules.meter:
        m = rules.meter
        expectations.append(expect(
            "expect_column_values_to_be_between", column="consumption", min_value=0,
            meta=_meta("meter_went_backwards", m.index, "{entity} on {day}: the index went down by {value}")))
        expectations.append(expect(
            "expect_column_values_to_be_between", column="ratio_to_usual", max_value=m.max_ratio_to_usual,
            meta=_meta("meter_spike", m.index,
                       "{entity} on {day}: {consumption} consumed, {value:.0f}× its usual day ({usual}); "
                       f"more than {m.max_ratio_to_usual:.0f}× is not plausible")))
    if not expectations:
        return None
    return Suite(name=f"{entry.key}__days", expectations=expectations,
                 meta={"partner": entry.partner.id, "dataset": entry.dataset.id})


def locations_suite(entry: PartnerDataset) -> Suite | None:
    """Coordinates inside France, and near the commune the row is coded in."""
    location = rules_for(entry.spec).location
    if location is None:
        return None
    source = {c.name: c.source for c in entry.spec.columns}
    where = source[location.latitude] if source[location.latitude] == source[location.longitude] \
        else f"{source[location.latitude]}/{source[location.longitude]}"
    expectations = [expect(
        "expect_column_values_to_be_between", column="in_france", min_value=1,
        severity=location.outside_severity,
        meta=_meta("coordinates_outside_france", where,
                   "[lat {latitude}, lon {longitude}] is in none of France's territories "
                   "(a [0, 0] point, latitude and longitude swapped, or a point abroad)"))]
    if location.code is not None:
        expectations.append(expect(
            "expect_column_values_to_be_between", column="distance_km", max_value=location.max_km,
            severity=WARNING,
            meta=_meta("coordinates_far_from_commune", source[location.code],
                       "[lat {latitude}, lon {longitude}] lies {value:.1f} km from commune {code} ({commune}), "
                       f"more than {location.max_km:.0f} km: the row is counted in the commune found from "
                       "its coordinates, where one lies that near (README, location rule)")))
    return Suite(name=f"{entry.key}__locations", expectations=expectations,
                 meta={"partner": entry.partner.id, "dataset": entry.dataset.id})


def located_sql(entry: PartnerDataset, staged: str) -> str | None:
    """One delivery's rows that carry coordinates, as they are (a projection: the references are
    joined by :func:`locations_sql`). Parameters: delivery id, period."""
    location = rules_for(entry.spec).location
    if location is None:
        return None
    lat, lon = quote_ident(location.latitude), quote_ident(location.longitude)
    code = f"s.{quote_ident(location.code)}" if location.code else "NULL::VARCHAR"
    return f"""
        SELECT ?::VARCHAR AS _delivery_id, ?::VARCHAR AS _period, s._source_line, s.{lat} AS latitude,
               s.{lon} AS longitude, {code} AS code
        FROM {quote_ident(staged)} AS s
        WHERE s.{lat} IS NOT NULL AND s.{lon} IS NOT NULL
    """


def locations_sql(located: str) -> str:
    """Per located row (``located``: a delivery's :func:`located_sql`): inside France's boxes,
    and the distance to the location of the (current) commune of its INSEE code. One delivery at
    a time: united over a month of daily files, the query built thirty hash tables of the COG at
    once (DuckDB ran out of its 160 MiB)."""
    return f"""
        WITH located AS (
            SELECT l.*, CAST(EXISTS (SELECT 1 FROM ref.france_boxes b
                                     WHERE l.latitude BETWEEN b.lat_min AND b.lat_max
                                       AND l.longitude BETWEEN b.lon_min AND b.lon_max) AS INTEGER) AS in_france
            FROM ({located}) AS l
        )
        SELECT l._delivery_id, l._period, l._source_line, l.latitude, l.longitude, l.code,
               c.nom_commune AS commune, l.in_france,
               -- the distance is checked for a point in France only (one outside is flagged as such)
               CASE WHEN l.in_france = 1 THEN
                   2 * 6371.0088 * asin(sqrt(power(sin(radians(c.latitude - l.latitude) / 2), 2)
                       + cos(radians(l.latitude)) * cos(radians(c.latitude))
                         * power(sin(radians(c.longitude - l.longitude) / 2), 2))) END AS distance_km
        FROM located AS l
        LEFT JOIN ref.commune_codes AS cc ON cc.code = l.code
        LEFT JOIN ref.communes AS c ON c.code_commune = cc.code_commune AND c.type_commune = 'commune-actuelle'
    """


# -- what each suite reads --------------------------------------------------------------------------

def rows_sql(entry: PartnerDataset, staged: str) -> str:
    """The staged delivery with its period bounds and, per row, how many rows share its key and
    how many different records they are. Parameters: delivery id, period, period start, end.

    Only the keys delivered more than once are compared record by record: the keys' hashes,
    sorted (DuckDB spills the sort to disk), find them, so a clean 1 GB file costs no window over
    every row's key (one held ~400 MiB beyond DuckDB's memory limit)."""
    spec = entry.spec
    columns = ", ".join(f"s.{quote_ident(c.name)}" for c in spec.columns)
    event = spec.event_time
    bound_type = next((c.sql_type for c in spec.columns if c.name == event), "VARCHAR")
    select = (f"SELECT ?::VARCHAR AS _delivery_id, s._source_line, {{counts}}, ?::VARCHAR AS _period, "
              f"CAST(? AS {bound_type}) AS _period_start, CAST(? AS {bound_type}) AS _period_end, {columns} "
              f"FROM {quote_ident(staged)} s")
    if not spec.grain:
        return select.format(counts="1 AS _copies, 1 AS _versions")
    key = ", ".join(quote_ident(g) for g in spec.grain)
    record = "{" + ", ".join(f"{quote_ident(c.name)}: {quote_ident(c.name)}" for c in spec.columns) + "}"

    def same_key(a: str, b: str) -> str:
        return " AND ".join(f"{a}.{quote_ident(g)} IS NOT DISTINCT FROM {b}.{quote_ident(g)}" for g in spec.grain)

    # keys whose hash repeats first — the sorted hashes, each compared with the one before: on a
    # 1 GB file, ~30 MiB beyond DuckDB's limit where a GROUP BY of the hashes (or of the keys' text)
    # took 70–100 —, then only those keys grouped as they are (hashes can collide)
    hashed = f"hash({key})"
    twice = (f"SELECT _hash FROM (SELECT _hash, lag(_hash) OVER (ORDER BY _hash) AS _before "
             f"FROM (SELECT {hashed} AS _hash FROM {quote_ident(staged)})) WHERE _hash = _before")
    repeated = (f"(SELECT {key}, count(*) AS _copies FROM {quote_ident(staged)} WHERE {hashed} IN ({twice}) "
                f"GROUP BY {key} HAVING count(*) > 1)")
    versions = (f"(SELECT r.*, (SELECT count(DISTINCT {record}) FROM {quote_ident(staged)} x "
                f"WHERE {same_key('x', 'r')}) AS _versions FROM {repeated} r)")
    return (select.format(counts="coalesce(k._copies, 1) AS _copies, coalesce(k._versions, 1) AS _versions")
            + f" LEFT JOIN {versions} k ON {same_key('s', 'k')}")


def period_bounds(entry: PartnerDataset, period: str) -> dict | None:
    """``period_start``/``period_end`` for the event-time column, in its own terms.

    Days and months are Europe/Paris local periods, except for formats whose times are UTC
    (Météo-France's hourly files cover UTC days). None for inventories.
    """
    spec, cadence = entry.spec, entry.dataset.cadence
    if not spec.event_time or cadence is Cadence.snapshot:
        return None
    if entry.dataset.period == "content":
        # the period is the records' own span: they must fall inside the dataset's declared
        # start … end (a multi-year file of another decade is refused)
        start = dt.datetime.combine(entry.dataset.start, dt.time())
        end = dt.datetime.combine(entry.dataset.end + dt.timedelta(days=1), dt.time()) if entry.dataset.end \
            else dt.datetime(9999, 1, 1)
        period = f"{entry.dataset.start:%Y%m%d}-{entry.dataset.end:%Y%m%d}" if entry.dataset.end \
            else f"from {entry.dataset.start:%Y-%m-%d}"
        return _bounds(spec, start, end, period)
    try:
        start = dt.datetime.strptime(period, cadence.period_format)
    except (TypeError, ValueError):
        return None
    end = {Cadence.daily: lambda d: d + dt.timedelta(days=1),
           Cadence.monthly: lambda d: (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1),
           Cadence.yearly: lambda d: d.replace(year=d.year + 1)}[cadence](start)
    return _bounds(spec, start, end, period)


def _bounds(spec, start: dt.datetime, end: dt.datetime, period: str) -> dict:
    """[start, end) in the event-time column's own terms (year, date or UTC instant)."""
    column = spec.column(spec.event_time)
    if column.type == "integer":          # a year column
        return {"period_start": start.year, "period_end": end.year - 1, "period": period}
    if column.type == "date":
        return {"period_start": start.date(), "period_end": (end - dt.timedelta(days=1)).date(), "period": period}
    tz = dt.timezone.utc if column.timezone == "UTC" else PARIS
    # the last instant of the period (the comparison is inclusive on both ends)
    last = end.replace(tzinfo=tz) - (dt.timedelta(0) if spec.event_time_ends_interval else dt.timedelta(microseconds=1))
    return {"period_start": start.replace(tzinfo=tz).astimezone(dt.timezone.utc),
            "period_end": last.astimezone(dt.timezone.utc), "period": period}


def days_sql(entry: PartnerDataset, staged: str, bounds: dict | None) -> str | None:
    """Per entity and day of a delivery (parameters: delivery id, period), or None."""
    rules = rules_for(entry.spec)
    if rules.completeness:
        return _completeness_sql(entry, staged, rules.completeness)
    if rules.meter:
        return _meter_sql(entry, staged, rules.meter, bounds)
    return None


def _completeness_sql(entry: PartnerDataset, staged: str, c: Completeness) -> str:
    """Readings present per entity and day against those expected (23/24/25 local hours)."""
    time_col = quote_ident(entry.spec.event_time)
    column = entry.spec.column(entry.spec.event_time)
    tz = "UTC" if column.timezone == "UTC" else "Europe/Paris"
    entity = quote_ident(c.entity)
    # a stamp closing its interval belongs to the local day the interval is in (24:00 closes the
    # day's last hour); Météo-France's UTC files, cut by the stamp's own UTC day, count as stamped
    instant = time_col if tz == "UTC" or not entry.spec.event_time_ends_interval \
        else f"({time_col} - INTERVAL 1 SECOND)"
    return f"""
        WITH stamps AS (
            -- each entity's stamps in order, a stamp counted once (a repeated one is no reading
            -- more): a sort DuckDB spills, not a GROUP BY of every stamp (on a 1 GB file ~30 MiB
            -- beyond DuckDB's limit instead of ~70; count(DISTINCT) does not spill at all)
            SELECT {entity} AS entity, timezone('{tz}', {instant})::DATE AS day, _source_line,
                   {time_col} IS DISTINCT FROM lag({time_col}) OVER (PARTITION BY {entity} ORDER BY {time_col})
                       AS first_of_stamp
            FROM {quote_ident(staged)} WHERE {entity} IS NOT NULL AND {time_col} IS NOT NULL
        ), readings AS (
            SELECT entity, day, count(*) FILTER (first_of_stamp) AS present, min(_source_line) AS _source_line
            FROM stamps GROUP BY ALL
        )
        SELECT ?::VARCHAR AS _delivery_id, ?::VARCHAR AS _period, _source_line, entity, day, present,
               {c.per_hour} * CAST(round(epoch(timezone('{tz}', (day + 1)::TIMESTAMP)
                                             - timezone('{tz}', day::TIMESTAMP)) / 3600) AS INTEGER) AS expected,
               present / expected AS share_present
        FROM readings
    """


def _meter_sql(entry: PartnerDataset, staged: str, m: Meter, bounds: dict | None) -> str:
    """Daily consumption per meter, with its median day over this delivery and a bounded window
    of earlier current readings (the previous index too, so the first day has a consumption)."""
    time_col = quote_ident(entry.spec.event_time)
    entity, index = quote_ident(m.entity), quote_ident(m.index)
    start = bounds["period_start"] if bounds else None
    history = "SELECT NULL::VARCHAR AS entity, NULL::DATE AS day, NULL::DOUBLE AS idx, NULL::BIGINT AS _source_line, " \
              "NULL::VARCHAR AS origin WHERE false"
    if start is not None:
        history = f"""
            SELECT r.{entity} AS entity, r.{time_col} AS day, r.{index} AS idx, NULL::BIGINT AS _source_line,
                   'history' AS origin
            FROM {entry.raw_relation} r JOIN landing.deliveries d ON d.delivery_id = r._delivery_id
            WHERE d.status IN ('loaded', 'partial') AND d.superseded_by IS NULL
              AND r.{time_col} >= DATE '{start}' - INTERVAL {m.history_days} DAY AND r.{time_col} < DATE '{start}'
              AND r.{entity} IN (SELECT {entity} FROM {quote_ident(staged)})
        """
    return f"""
        WITH readings AS (
            SELECT {entity} AS entity, {time_col} AS day, {index} AS idx, _source_line, 'delivery' AS origin
            FROM {quote_ident(staged)} WHERE {entity} IS NOT NULL AND {index} IS NOT NULL
            UNION ALL {history}
        ),
        days AS (
            SELECT *, idx - lag(idx) OVER (PARTITION BY entity ORDER BY day) AS consumption FROM readings
        ),
        usual AS (
            SELECT entity, median(consumption) FILTER (consumption > 0) AS usual FROM days GROUP BY entity
        )
        SELECT ?::VARCHAR AS _delivery_id, ?::VARCHAR AS _period, d._source_line, d.entity, d.day,
               round(d.consumption, 3) AS consumption,
               round(u.usual, 3) AS usual, d.consumption / nullif(u.usual, 0) AS ratio_to_usual
        FROM days d JOIN usual u USING (entity)
        WHERE d.origin = 'delivery' AND d.consumption IS NOT NULL
    """
