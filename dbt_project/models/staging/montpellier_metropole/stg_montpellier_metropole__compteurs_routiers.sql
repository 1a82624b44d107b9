-- Road counting sites of the métropole (national comptage-mobilités site layout): one site per
-- counted road section; site_id is the 'Identifiant arc' of the hourly counts. The list is a
-- snapshot: a site appears in every snapshot that lists it, the latest delivery wins.
-- Grain: one row per counter_id. code_commune is the INSEE code the partner gives (may be
-- empty: the national schema allows it; int_traffic__counters then locates the site).
with current_sites as (
    {{ current_rows(source('raw', 'montpellier_metropole__compteurs_routiers'), ['trim(site_id)']) }}
)

select
    trim(site_id) as counter_id,
    trim(site_name) as site_name,
    nullif(trim(fr_insee_code), '') as code_commune,
    cast(ylat as {{ type_double() }}) as latitude,
    cast(xlong as {{ type_double() }}) as longitude,
    infrastructure_type,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at
from current_sites
