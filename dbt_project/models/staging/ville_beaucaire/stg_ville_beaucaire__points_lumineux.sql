-- The light-point inventory of the commune of Beaucaire (French labels), current snapshot.
{{ stage_light_points(source('raw', 'ville_beaucaire__points_lumineux')) }}
