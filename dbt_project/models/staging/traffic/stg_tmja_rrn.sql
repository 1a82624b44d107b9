-- Annual average daily traffic of the national road network (tmja-rrnc files of the ministry),
-- current deliveries: one row per section of a national road between two PR. Coordinates are
-- the section's ends, reprojected from Lambert-93 at load. A section without a measure
-- (anneeMesureTrafic empty or 0, TMJA empty) is kept with has_measure false: it is "not
-- measured", never a zero. ratio_PL is a percentage written with a decimal comma; a bare integer
-- (the 2019 file's 50, 112, 148 on motorways: tenths of a percent by their size) or a value
-- above 100 is not read: heavy_vehicle_share_pct NULL, heavy_share_unreadable true.
-- data_year: the year of the network reference (dateReferentiel); measure_year: the year the
-- count was made (may be earlier). Grain: one row per section_id and data_year.
with current_sections as (
    {{ current_rows(source('formats', 'tmja_rrn'),
                    ['route', 'prd', 'absd', 'prf', 'absf', 'cote', 'annee_mesure_trafic'], scope='national') }}
)

select
    partner_id,
    dataset_key,
    trim(route) || ' PR' || trim(prd) || '+' || {{ number_label('absd') }}
        || '-PR' || trim(prf) || '+' || {{ number_label('absf') }}
        || coalesce(' ' || nullif(trim(cote), ''), '') as section_id,
    trim(route) as route,
    cast(extract(year from date_referentiel) as {{ dbt.type_int() }}) as data_year,
    nullif(annee_mesure_trafic, 0) as measure_year,
    {{ departement_code('dep_prd') }} as code_departement,
    longueur as length_m,
    longitude_debut,
    latitude_debut,
    longitude_fin,
    latitude_fin,
    (latitude_debut + latitude_fin) / 2 as latitude,
    (longitude_debut + longitude_fin) / 2 as longitude,
    type_comptage as count_type,
    tmja as aadt_veh,
    case when ratio_pl between 0 and 100 and regexp_matches(ratio_pl_texte, '[,.]') then ratio_pl end
        as heavy_vehicle_share_pct,
    ratio_pl_texte is not null and not (ratio_pl between 0 and 100 and regexp_matches(ratio_pl_texte, '[,.]'))
        as heavy_share_unreadable,
    tmja is not null and tmja > 0 and coalesce(annee_mesure_trafic, 0) > 0 as has_measure,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at
from current_sections
