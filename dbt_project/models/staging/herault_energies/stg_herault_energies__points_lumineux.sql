-- The light-point inventory of the syndicate Hérault Énergies (EclExt codes), current snapshot.
{{ stage_light_points(source('raw', 'herault_energies__points_lumineux')) }}
