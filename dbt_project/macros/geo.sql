{#- Great-circle distance in km between two WGS84 points (haversine, plain SQL). -#}
{% macro haversine_km(lat1, lon1, lat2, lon2) -%}
    (2 * 6371.0088 * asin(sqrt(
        power(sin(radians({{ lat2 }} - {{ lat1 }}) / 2), 2)
        + cos(radians({{ lat1 }})) * cos(radians({{ lat2 }})) * power(sin(radians({{ lon2 }} - {{ lon1 }}) / 2), 2)
    )))
{%- endmacro %}

{#- True when (lat, lon) falls in one of France's bounding boxes (ref.france_boxes: mainland
    and Corsica, each overseas territory). [0, 0] and swapped [lat, lon] pairs fall outside. -#}
{% macro in_france(lat, lon) -%}
    exists (select 1 from {{ source('ref', 'france_boxes') }} as fb
            where {{ lat }} between fb.lat_min and fb.lat_max and {{ lon }} between fb.lon_min and fb.lon_max)
{%- endmacro %}

{#-
  Where each row of `relation` is, from the commune code it carries (column code_commune, already
  normalised) and its coordinates (latitude, longitude). `keys`: the row's key columns.
  The rule (documented in the README, "Location by code, checked by coordinates"):
    - code and coordinates agree (the point lies within `max_km` of the commune's location):
      the code ('code');
    - a code without usable coordinates (none, [0, 0], outside France's boxes): the code
      ('code_sans_coordonnees'); a code whose commune has no known location: the code
      ('code_non_verifiable');
    - a code whose commune lies more than `max_km` from the point: the point is trusted, the row
      goes to the commune whose location is nearest to it within `max_km`
      ('coordonnees_code_eloigne'), or keeps its code when no commune is that near
      ('code_eloigne'); either way code_commune_declared and distance_to_declared_km say so;
    - no code: the commune nearest to the point within `max_km` ('coordonnees'), else none
      ('non_localise').
  The nearest location is searched among all communes of France (the hub knows locations, not
  boundaries: a point near a border may be given the neighbouring commune).
-#}
{% macro locate_by_code_and_coordinates(relation, keys, max_km=none) -%}
{%- set max_km = max_km if max_km is not none else var('location_tolerance_km', 20) -%}
{%- set key_list = keys | join(', ') -%}
with rows_to_locate as (
    select
        {% for k in keys %}r.{{ k }}, {% endfor %}
        r.code_commune as code_commune_declared,
        r.latitude,
        r.longitude,
        r.latitude is not null and r.longitude is not null
            and not (r.latitude = 0 and r.longitude = 0)
            and {{ in_france('r.latitude', 'r.longitude') }} as has_point
    from {{ relation }} as r
),

declared as (
    select
        t.*,
        c.latitude as declared_latitude,
        case when t.has_point and c.latitude is not null
             then {{ haversine_km('t.latitude', 't.longitude', 'c.latitude', 'c.longitude') }} end as distance_to_declared_km
    from rows_to_locate as t
    left join {{ source('ref', 'communes') }} as c
        on c.code_commune = t.code_commune_declared and c.type_commune = 'commune-actuelle'
),

nearest as (
    select {{ key_list }}, code_commune as code_commune_coordinates, distance_km
    from (
        select
            {% for k in keys %}d.{{ k }}, {% endfor %}
            c.code_commune,
            {{ haversine_km('d.latitude', 'd.longitude', 'c.latitude', 'c.longitude') }} as distance_km,
            row_number() over (
                partition by {% for k in keys %}d.{{ k }}{% if not loop.last %}, {% endif %}{% endfor %}
                order by {{ haversine_km('d.latitude', 'd.longitude', 'c.latitude', 'c.longitude') }}, c.code_commune
            ) as rank_near
        from declared as d
        inner join {{ source('ref', 'communes') }} as c
            on c.type_commune = 'commune-actuelle'
           and c.latitude between d.latitude - {{ max_km }} / 111.0 and d.latitude + {{ max_km }} / 111.0
           and c.longitude between d.longitude - {{ max_km }} / (111.0 * cos(radians(d.latitude)))
                               and d.longitude + {{ max_km }} / (111.0 * cos(radians(d.latitude)))
        where d.has_point
          and (d.code_commune_declared is null or d.distance_to_declared_km > {{ max_km }})
    ) as ranked
    where rank_near = 1 and distance_km <= {{ max_km }}
)

select
    {% for k in keys %}d.{{ k }}, {% endfor %}
    case
        when d.code_commune_declared is not null and d.distance_to_declared_km > {{ max_km }}
             and n.code_commune_coordinates is not null then n.code_commune_coordinates
        when d.code_commune_declared is not null then d.code_commune_declared
        else n.code_commune_coordinates
    end as code_commune,
    case
        when d.code_commune_declared is not null and not d.has_point then 'code_sans_coordonnees'
        when d.code_commune_declared is not null and d.declared_latitude is null then 'code_non_verifiable'
        when d.code_commune_declared is not null and d.distance_to_declared_km <= {{ max_km }} then 'code'
        when d.code_commune_declared is not null and n.code_commune_coordinates is not null then 'coordonnees_code_eloigne'
        when d.code_commune_declared is not null then 'code_eloigne'
        when n.code_commune_coordinates is not null then 'coordonnees'
        else 'non_localise'
    end as commune_source,
    d.code_commune_declared,
    round(d.distance_to_declared_km, 3) as distance_to_declared_km,
    d.has_point
from declared as d
left join nearest as n
    on {% for k in keys %}n.{{ k }} = d.{{ k }}{% if not loop.last %} and {% endif %}{% endfor %}
{%- endmacro %}
