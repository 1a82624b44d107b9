-- Light points of inventories delivered as a zipped ESRI shapefile (one lantern-type attribute),
-- current inventory of each dataset (a new inventory supersedes the previous one as a whole).
-- Coordinates were reprojected to WGS84 from the .prj's system at load. No commune, power or
-- technology in this layout. Grain: (dataset_key, point_id).
with current_points as (
    {{ current_rows(source('formats', 'eclairage_points_shapefile'), ['record_number']) }}
)

select
    partner_id,
    dataset_key,
    trim(record_number) as point_id,
    nullif(trim(type_lanterne), '') as lantern_type,
    latitude,
    longitude,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at
from current_points
