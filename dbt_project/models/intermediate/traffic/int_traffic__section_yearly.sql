-- Annual traffic per road SECTION, from the layouts that publish a value per section rather than
-- hourly counts, with the commune the section is counted in. Grain: one row per (source_format,
-- dataset_key, section_id, year).
--  * tmja_rrn (national roads): TMJA, heavy-vehicle share; measure 'tmja_annuel'. A section
--    without a measure stays, aadt_veh NULL, has_measure false; TMJA 0 is is_zero_aadt;
--  * comptage_routier_departemental: TMJA per departmental section; TMJA 0 is "no valid
--    count" (aadt_veh NULL, is_zero_aadt), never averaged as zero;
--  * comptage_campagne_sig (a city's one-week campaigns): the mean daily traffic of the latest
--    campaign week of the year, both directions summed (0 in every direction: is_zero_aadt, not
--    read); measure 'campagne_semaine' (a week,
--    not an annual average: never mixed with TMJA in the marts).
-- code_commune: by code, checked by coordinates (locate_by_code_and_coordinates): the declared
-- commune (departmental cell's first code, the city's own commune for campaigns) when the
-- position agrees or is unknown, else the commune nearest to the section's midpoint (national
-- roads carry no commune code).
with rrn as (
    select
        'tmja_rrn' as source_format, dataset_key, partner_id, section_id, route, data_year as year,
        measure_year, 'tmja_annuel' as measure, count_type,
        case when aadt_veh > 0 then aadt_veh end as aadt_veh, heavy_vehicle_share_pct,
        length_m, cast(null as {{ dbt.type_string() }}) as code_commune,
        cast(null as {{ dbt.type_string() }}) as codes_communes_list,
        latitude, longitude, has_measure, coalesce(aadt_veh = 0, false) as is_zero_aadt, heavy_share_unreadable
    from {{ ref('stg_tmja_rrn') }}
),

departmental as (
    select
        'comptage_routier_departemental', dataset_key, partner_id, section_id, route, data_year,
        measure_year, 'tmja_annuel', coalesce(periodicity, count_type), aadt_veh, heavy_vehicle_share_pct,
        length_m, code_commune, array_to_string(codes_communes, ' '),
        latitude, longitude, aadt_veh is not null, is_zero_aadt, false
    from {{ ref('stg_comptage_routier_departemental') }}
),

campaign_weeks as (  -- both directions of one campaign week
    select
        dataset_key, partner_id, section_id, data_year, started_on, max(street_name) as street_name,
        max(counter_type) as counter_type, max(code_commune) as code_commune,
        sum(weekly_mean_daily_veh) as two_way_daily_veh,
        count(*) as directions, count(weekly_mean_daily_veh) as directions_measured
    from {{ ref('stg_comptage_campagne_sig') }}
    group by dataset_key, partner_id, section_id, data_year, started_on
),

campaigns as (
    select
        'comptage_campagne_sig', dataset_key, partner_id, section_id, street_name, data_year,
        data_year, 'campagne_semaine', counter_type,
        case when directions_measured = directions and two_way_daily_veh > 0 then two_way_daily_veh end,
        cast(null as {{ type_double() }}), cast(null as {{ type_double() }}), code_commune,
        code_commune, cast(null as {{ type_double() }}), cast(null as {{ type_double() }}),
        directions_measured = directions, coalesce(directions_measured = directions and two_way_daily_veh = 0, false), false
    from (
        select *, row_number() over (partition by dataset_key, section_id, data_year order by started_on desc) as rank_latest
        from campaign_weeks
    ) as ranked
    where rank_latest = 1
),

sections as (
    select * from rrn
    union all select * from departmental
    union all select * from campaigns
),

located as (
    {{ locate_by_code_and_coordinates('sections', ['source_format', 'dataset_key', 'section_id', 'year']) }}
)

select
    s.source_format,
    s.dataset_key,
    s.partner_id,
    s.section_id,
    s.route,
    s.year,
    s.measure_year,
    s.measure,
    s.count_type,
    s.aadt_veh,
    s.heavy_vehicle_share_pct,
    s.length_m,
    l.code_commune,
    l.commune_source,
    coalesce(s.codes_communes_list, l.code_commune) as codes_communes,
    s.latitude,
    s.longitude,
    s.has_measure,
    s.is_zero_aadt,
    s.heavy_share_unreadable
from sections as s
inner join located as l
    on l.source_format = s.source_format and l.dataset_key = s.dataset_key
   and l.section_id = s.section_id and l.year = s.year
