-- Status events of charging points (national IRVE dynamic schema), every operator delivering
-- it, current deliveries only. Grain: one row per (charge_point_id, observed_at). An event reports the
-- point's state from observed_at (a UTC instant) until the point's next event.
-- status: etat_pdc in English (in_service | out_of_service | unknown);
-- occupancy: occupation_pdc in English (free | occupied | reserved | unknown);
-- connector states: fonctionnel → working, hors_service → out_of_service, inconnu → unknown,
-- NULL when the point has no such connector. Unknown labels are kept (trimmed, lower-case).
{%- set english_state = {
    'en_service': 'in_service', 'fonctionnel': 'working', 'hors_service': 'out_of_service', 'inconnu': 'unknown',
} %}
{%- set connectors = {
    'etat_prise_type_2': 'type_2_state', 'etat_prise_type_combo_ccs': 'combo_ccs_state',
    'etat_prise_type_chademo': 'chademo_state', 'etat_prise_type_ef': 'type_ef_state',
} %}
with current_events as (
    {{ current_rows(source('formats', 'irve_dynamique'), ['trim(id_pdc_itinerance)', 'horodatage'], scope='national') }}
)

select
    partner_id,
    dataset_key,
    trim(id_pdc_itinerance) as charge_point_id,
    horodatage as observed_at,
    case lower(trim(etat_pdc))
        {%- for french, english in english_state.items() %}
        when '{{ french }}' then '{{ english }}'
        {%- endfor %}
        else lower(trim(etat_pdc))
    end as status,
    case lower(trim(occupation_pdc))
        when 'libre' then 'free'
        when 'occupe' then 'occupied'
        when 'reserve' then 'reserved'
        when 'inconnu' then 'unknown'
        else lower(trim(occupation_pdc))
    end as occupancy,
    {%- for column, alias in connectors.items() %}
    case lower(trim({{ column }}))
        {%- for french, english in english_state.items() %}
        when '{{ french }}' then '{{ english }}'
        {%- endfor %}
        else lower(trim({{ column }}))
    end as {{ alias }},
    {%- endfor %}
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at
from current_events
