-- Annual average daily traffic of departmental road sections, current deliveries: one row per
-- counted section and year. A section crossing several communes lists their INSEE codes in one
-- cell: codes_communes keeps them all (normalised to current communes), code_commune is the
-- first. TMJA 0 is a broken or absent count (is_zero_aadt): never averaged as a zero.
-- Grain: (dataset_key, section_id, year).
with current_sections as (
    {{ current_rows(source('formats', 'comptage_routier_departemental'),
                    ['numero_rd', 'adresse_compteur', 'annee_du_comptage']) }}
),

listed_codes as (  -- every INSEE code of the cell, in its order, as its current commune
    select s._delivery_id, s._source_line, list(m.code_commune order by s.position) as codes_communes
    from (
        select _delivery_id, _source_line, unnest(code_insee) as code, unnest(range(len(code_insee))) as position
        from current_sections
    ) as s
    inner join {{ source('ref', 'commune_codes') }} as m on m.code = s.code
    group by s._delivery_id, s._source_line
)

select
    cs.partner_id,
    cs.dataset_key,
    trim(numero_rd) || ' ' || coalesce(trim(adresse_compteur), '') as section_id,
    trim(numero_rd) as route,
    trim(adresse_compteur) as counter_address,
    cast(annee_du_comptage as {{ dbt.type_int() }}) as data_year,
    cast(annee_du_comptage as {{ dbt.type_int() }}) as measure_year,
    trim(periodicite) as periodicity,
    trim(type_de_comptage) as count_type,
    lc.codes_communes[1] as code_commune,
    lc.codes_communes,
    longueur as length_m,
    geo_point_lat as latitude,
    geo_point_lon as longitude,
    case when tmja > 0 then tmja end as aadt_veh,
    tmja = 0 as is_zero_aadt,
    -- heavy-vehicle share of both directions, weighted by each direction's traffic
    case when tmja_sens_1 > 0 or tmja_sens_2 > 0 then
        (coalesce(poids_lourds_sens_1_pct * tmja_sens_1, 0) + coalesce(poids_lourds_sens_2_pct * tmja_sens_2, 0))
        / nullif(case when poids_lourds_sens_1_pct is not null then tmja_sens_1 else 0 end
                 + case when poids_lourds_sens_2_pct is not null then tmja_sens_2 else 0 end, 0)
    end as heavy_vehicle_share_pct,
    cs._delivery_id,
    cs._source_line,
    cs._delivery_sequence,
    cs._delivered_at
from current_sections as cs
left join listed_codes as lc on lc._delivery_id = cs._delivery_id and lc._source_line = cs._source_line
