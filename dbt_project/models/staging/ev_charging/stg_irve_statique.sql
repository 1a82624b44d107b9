-- Charging points of every operator delivering the national IRVE static schema (v2.3), current
-- inventory. Grain: one row per charge_point_id (id_pdc_itinerance, a national id: two
-- datasets listing the same point list the same point, the latest delivery wins). power_kw is the point's nominal power as delivered, kW
-- (the schema's unit; not rescaled: a value > 1000 would be a file in W, flagged by a test).
with current_points as (
    {{ current_rows(source('formats', 'irve_statique'), ['trim(id_pdc_itinerance)'], scope='national') }}
)

select
    partner_id,
    dataset_key,
    trim(id_pdc_itinerance) as charge_point_id,
    trim(id_station_itinerance) as station_id,
    nom_station as station_name,
    {{ irve_site_type('implantation_station') }} as site_type,
    {{ current_commune('code_insee_commune') }} as code_commune,
    code_insee_commune as code_commune_delivered,
    latitude,
    longitude,
    nbre_pdc as station_declared_points,
    -- exact decimals: sums of powers do not depend on the order parallel threads add them
    cast(puissance_nominale as decimal(12, 3)) as power_kw,
    prise_type_ef as has_type_ef,
    prise_type_2 as has_type_2,
    prise_type_combo_ccs as has_combo_ccs,
    prise_type_chademo as has_chademo,
    gratuit as is_free,
    case trim(condition_acces)
        when 'Accès libre' then 'open'
        when 'Accès réservé' then 'restricted'
        else lower(trim(condition_acces))
    end as access_condition,
    nom_amenageur as owner_name,
    siren_amenageur as owner_siren,
    nom_operateur as operator_name,
    nom_enseigne as brand_name,
    date_mise_en_service as commissioned_on,
    date_maj as updated_on,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at
from current_points
