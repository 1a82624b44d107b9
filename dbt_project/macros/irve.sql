{#- IRVE vocabularies in English, shared by every IRVE layout. Unknown labels are kept (trimmed, lower-case). -#}
{% macro irve_state(column) -%}
    case lower(trim({{ column }}))
        when 'en_service' then 'in_service'
        when 'fonctionnel' then 'working'
        when 'hors_service' then 'out_of_service'
        when 'inconnu' then 'unknown'
        else lower(trim({{ column }}))
    end
{%- endmacro %}

{% macro irve_occupancy(column) -%}
    case lower(trim({{ column }}))
        when 'libre' then 'free'
        when 'occupe' then 'occupied'
        when 'reserve' then 'reserved'
        when 'inconnu' then 'unknown'
        else lower(trim({{ column }}))
    end
{%- endmacro %}

{% macro irve_site_type(column) -%}
    case trim({{ column }})
        when 'Voirie' then 'on_street'
        when 'Parking public' then 'public_car_park'
        when 'Parking privé à usage public' then 'private_car_park_public_use'
        when 'Parking privé réservé à la clientèle' then 'private_car_park_customers'
        when 'Station dédiée à la recharge rapide' then 'fast_charging_station'
        else lower(trim({{ column }}))
    end
{%- endmacro %}
