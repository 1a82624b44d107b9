-- The register of Météo-France observation stations (CSV list of the climatological data API, and
-- the GeoJSON of the fiches climatologiques), current deliveries: number, name, position, altitude,
-- opening date. Grain: one row per station_id (the latest delivery listing it wins; the CSV list
-- wins over the GeoJSON for a station both list, as it carries the opening date).
with listed as (
    select
        partner_id, dataset_key, trim(id_station) as station_id, trim(nom_usuel) as station_name,
        latitude, longitude, altitude as altitude_m, date_ouverture as opened_on,
        nullif(trim(id_omm), '') as wmo_id, trim(pack) as network,
        'liste_stations' as register, 1 as register_rank,
        _delivery_id, _source_line, _delivery_sequence, _delivered_at
    from ({{ current_rows(source('formats', 'meteo_france_postes'), ['trim(id_station)'], scope='national') }}) as l
    union all
    select
        partner_id, dataset_key, trim(num_poste), trim(nom_usuel),
        lat_dg, lon_dg, alti, cast(null as date),
        cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}),
        'fiches_climatologiques', 2,
        _delivery_id, _source_line, _delivery_sequence, _delivered_at
    from ({{ current_rows(source('formats', 'meteo_france_fiches'), ['trim(num_poste)'], scope='national') }}) as f
)

select
    partner_id, dataset_key, station_id, station_name, latitude, longitude, altitude_m, opened_on,
    wmo_id, network, register,
    _delivery_id, _source_line, _delivery_sequence, _delivered_at
from (
    select *, row_number() over (partition by station_id order by register_rank, _delivery_sequence desc) as rank_register
    from listed
) as ranked
where rank_register = 1
