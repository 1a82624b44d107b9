-- Road counting sites (national comptage-mobilités site layout), every partner delivering it:
-- one site per counted road section; a count feed linked to this list (registry role `sites`)
-- names its counters by site_id. The list is a snapshot: a site appears in every snapshot that
-- lists it, the latest delivery wins. Grain: one row per (dataset_key, counter_id).
-- code_commune is the current commune of the INSEE code the partner gives (may be empty: the
-- national schema allows it; int_traffic__counters then locates the site).
with current_sites as (
    {{ current_rows(source('formats', 'comptage_mobilites_site'), ['trim(site_id)']) }}
)

select
    partner_id,
    dataset_key,
    trim(site_id) as counter_id,
    trim(site_name) as site_name,
    {{ current_commune("nullif(trim(fr_insee_code), '')") }} as code_commune,
    nullif(trim(fr_insee_code), '') as code_commune_delivered,
    cast(ylat as {{ type_double() }}) as latitude,
    cast(xlong as {{ type_double() }}) as longitude,
    infrastructure_type,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at
from current_sites
