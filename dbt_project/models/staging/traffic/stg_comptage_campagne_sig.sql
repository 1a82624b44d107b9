-- One-week counting campaigns of a city, exported from its GIS (DBF-typed headers, Windows-1252,
-- dd/mm/yy dates, #N/A as missing), current deliveries. One row per campaign and direction:
-- tjm is that week's mean daily traffic in one direction, not an annual value. 9999 in a
-- numeric field means "no value" in this export. The campaigns carry no commune: they are the
-- partner's own commune (the commune whose SIREN the partner has), else none.
-- Grain: (dataset_key, objectid).
with current_campaigns as (
    {{ current_rows(source('formats', 'comptage_campagne_sig'), ['objectid']) }}
)

select
    c.partner_id,
    c.dataset_key,
    trim(c.objectid) as campaign_row_id,
    trim(c.ref) as section_id,
    trim(c.nom) as street_name,
    trim(c.sens) as direction,
    c.date_debut as started_on,
    c.date_fin as ended_on,
    cast(c.annee as {{ dbt.type_int() }}) as data_year,
    case when c.tjm between 0 and 9998 then c.tjm end as weekly_mean_daily_veh,
    case when c.heure_pointe_matin between 0 and 9998 then c.heure_pointe_matin end as morning_peak_flow,
    case when c.heure_pointe_soir between 0 and 9998 then c.heure_pointe_soir end as evening_peak_flow,
    case when c.vitesse_legale between 1 and 200 then c.vitesse_legale end as speed_limit_kmh,
    trim(c.type_compteur) as counter_type,
    {{ partner_commune('c.partner_id') }} as code_commune,
    c._delivery_id,
    c._source_line,
    c._delivery_sequence,
    c._delivered_at
from current_campaigns as c
