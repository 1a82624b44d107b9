-- Light points of inventories delivered as CSV with Lambert-93 coordinates (x_l93, y_l93) and a
-- lantern type, current inventory of each dataset; coordinates reprojected to WGS84 at load.
-- No commune, power or technology in this layout. Grain: (dataset_key, point_id).
with current_points as (
    {{ current_rows(source('formats', 'eclairage_points_l93'), ['record_number']) }}
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
