-- Counting channels of the national comptage-mobilités schema (one site × mobility type ×
-- direction), current deliveries. Grain: (dataset_key, channel_id).
with current_channels as (
    {{ current_rows(source('formats', 'comptage_mobilites_channel'), ['trim(channel_id)']) }}
)

select
    partner_id,
    dataset_key,
    trim(channel_id) as channel_id,
    trim(site_id) as site_id,
    upper(trim(mobility_type)) as mobility_type,
    coalesce(nullif(trim(direction), ''), trim(provider_direction_code)) as direction,
    upper(trim(temporality)) as temporality,
    time_step as time_step_s,
    started_at,
    ended_at,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at
from current_channels
