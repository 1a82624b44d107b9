-- Charging points from the QualiCharge database export (longitude and latitude in their own
-- columns, no coordonneesXY, fewer columns than the schema), current deliveries. Same names as
-- stg_irve_statique; the schema columns the export lacks are NULL. Grain: one row per
-- charge_point_id (a national id: the latest delivery listing a point wins).
with current_points as (
    {{ current_rows(source('formats', 'irve_statique_qualicharge'), ['trim(id_pdc_itinerance)'], scope='national') }}
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
    cast(puissance_nominale as decimal(12, 3)) as power_kw,
    prise_type_ef as has_type_ef,
    prise_type_2 as has_type_2,
    prise_type_combo_ccs as has_combo_ccs,
    prise_type_chademo as has_chademo,
    nom_amenageur as owner_name,
    siren_amenageur as owner_siren,
    nom_operateur as operator_name,
    date_maj as updated_on,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at
from current_points
