{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ prune_current_series(source('formats', 'irve_dynamique'), 'horodatage', 'observed_at', 'national') }}",
) }}
-- A big series: its current rows are a table kept incrementally (macros/current_series.sql).
-- Status events of charging points (national IRVE dynamic schema), every operator delivering
-- it, current deliveries only. Grain: one row per (charge_point_id, observed_at). An event reports the
-- point's state from observed_at (a UTC instant) until the point's next event.
-- status: etat_pdc in English (in_service | out_of_service | unknown);
-- occupancy: occupation_pdc in English (free | occupied | reserved | unknown);
-- connector states: fonctionnel → working, hors_service → out_of_service, inconnu → unknown,
-- NULL when the point has no such connector. Unknown labels are kept (trimmed, lower-case)
-- (macros/irve.sql, shared with the QualiCharge layout).
with current_events as (
    {{ current_rows(source('formats', 'irve_dynamique'), ['trim(id_pdc_itinerance)', 'horodatage'], scope='national',
                    where=changed_series_filter(source('formats', 'irve_dynamique'), 'horodatage', 'observed_at', 'national')) }}
)

select
    partner_id,
    dataset_key,
    trim(id_pdc_itinerance) as charge_point_id,
    horodatage as observed_at,
    {{ irve_state('etat_pdc') }} as status,
    {{ irve_occupancy('occupation_pdc') }} as occupancy,
    {{ irve_state('etat_prise_type_2') }} as type_2_state,
    {{ irve_state('etat_prise_type_combo_ccs') }} as combo_ccs_state,
    {{ irve_state('etat_prise_type_chademo') }} as chademo_state,
    {{ irve_state('etat_prise_type_ef') }} as type_ef_state,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at,
    current_timestamp as _built_at
from current_events
