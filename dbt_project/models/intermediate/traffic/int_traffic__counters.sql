-- Road counters (counted road sections) of every count feed, with the commune they stand in.
-- Grain: one row per (counts_key, counter_id): a counter id is its partner's own, and a count
-- feed names its counters by the site_id of the site list the registry links it to (role
-- `sites`; by default the same partner's site list).
-- code_commune: by code, checked by coordinates (locate_by_code_and_coordinates, macros/geo.sql):
-- the site list's INSEE code when the site lies within 20 km of that commune's location, else
-- the commune nearest to the site; the nearest commune when the list gives no code (the
-- national schema allows it); NULL when neither locates the site ('non_localise': the counter
-- stays out of the territorial roll-ups). A counter of the counts missing from the site list has
-- no row here (its commune is unknown).
with sites as (
    select
        l.dataset_key as counts_key,
        s.partner_id,
        s.counter_id,
        s.site_name,
        s.code_commune,
        s.latitude,
        s.longitude
    from {{ ref('stg_comptage_mobilites_site') }} as s
    inner join {{ source('registry', 'dataset_links') }} as l
        on l.linked_dataset_key = s.dataset_key and l.role = 'sites'
),

located as (
    {{ locate_by_code_and_coordinates('sites', ['counts_key', 'counter_id']) }}
)

select
    s.counts_key,
    s.partner_id,
    s.counter_id,
    s.site_name,
    l.code_commune,
    l.commune_source,
    l.code_commune_declared,
    l.distance_to_declared_km,
    s.latitude,
    s.longitude
from sites as s
inner join located as l on l.counts_key = s.counts_key and l.counter_id = s.counter_id
