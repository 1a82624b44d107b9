-- Lighting failure tickets of the syndicate Hérault Énergies (GMAO export).
{{ stage_lighting_tickets(source('raw', 'herault_energies__tickets_pannes')) }}
