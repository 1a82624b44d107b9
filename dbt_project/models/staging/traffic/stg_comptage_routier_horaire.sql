{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ prune_current_series(source('formats', 'comptage_routier_horaire'), 'date_et_heure_de_comptage', 'counted_until', 'dataset') }}",
) }}
-- A big series: its current rows are a table kept incrementally (macros/current_series.sql).
-- Hourly traffic counts of permanent road counters (Paris permanent-counter layout), every
-- partner delivering it, current deliveries only. Grain: one row per (dataset_key, counter_id,
-- counted_at): a counter id is its partner's own.
-- counted_at is the START of the counted hour, a UTC instant: the row covers
-- [counted_at, counted_at + 1 h). The partner stamps the END of the hour (the Paris portal's own
-- definition: "fin de la période d'élaboration") in local time with the Paris offset, so the two
-- 02:00 hours of the autumn change are two distinct instants; the start is that stamp − 1 h.
-- flow_veh_h: vehicles counted in that hour (NULL when not measured, e.g. 'Inconnu' rows);
-- occupancy_pct: share of the hour the loop was occupied, % (0–100).
with current_counts as (
    {{ current_rows(source('formats', 'comptage_routier_horaire'),
                    ['trim(identifiant_arc)', 'date_et_heure_de_comptage'],
                 where=changed_series_filter(source('formats', 'comptage_routier_horaire'), 'date_et_heure_de_comptage', 'counted_until', 'dataset')) }}
)

select
    partner_id,
    dataset_key,
    trim(identifiant_arc) as counter_id,
    trim(libelle) as section_label,
    {{ dbt.dateadd('hour', -1, 'date_et_heure_de_comptage') }} as counted_at,
    date_et_heure_de_comptage as counted_until,
    cast(debit_horaire as {{ type_double() }}) as flow_veh_h,
    cast(taux_d_occupation as {{ type_double() }}) as occupancy_pct,
    -- the city's traffic state, in English; an unknown label is kept (trimmed, lower-case)
    case trim(etat_trafic)
        when 'Fluide' then 'free_flow'
        when 'Pré-saturé' then 'heavy'
        when 'Saturé' then 'saturated'
        when 'Bloqué' then 'blocked'
        when 'Inconnu' then 'unknown'
        else lower(trim(etat_trafic))
    end as traffic_state,
    case trim(etat_arc)
        when 'Ouvert' then 'open'
        when 'Barré' then 'closed'
        when 'Invalide' then 'invalid'
        else lower(trim(etat_arc))
    end as section_state,
    geo_point_lat as latitude,
    geo_point_lon as longitude,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at,
    current_timestamp as _built_at
from current_counts
