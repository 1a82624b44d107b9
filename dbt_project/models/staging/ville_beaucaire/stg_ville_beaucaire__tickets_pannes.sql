-- Lighting failure tickets of the commune of Beaucaire (GMAO export).
{{ stage_lighting_tickets(source('raw', 'ville_beaucaire__tickets_pannes')) }}
