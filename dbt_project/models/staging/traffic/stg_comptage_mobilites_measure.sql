-- Counts per channel and interval of the national comptage-mobilités schema, current deliveries.
-- started_at / ended_at are instants (the file writes offsets). local_day is the Europe/Paris
-- date of the START: producers stamp DST days wrongly (a 23-hour day ending at "23:00+01:00", a
-- 25-hour day cut at the wrong midnight), so a daily count is keyed by where it starts, never by
-- its length. An empty count is no count (NULL); 0 is no passage.
-- Grain: (dataset_key, channel_id, started_at).
with current_measures as (
    {{ current_rows(source('formats', 'comptage_mobilites_measure'), ['trim(channel_id)', 'start_datetime']) }}
)

select
    partner_id,
    dataset_key,
    trim(channel_id) as channel_id,
    nullif(trim(counter_id), '') as counter_id,
    start_datetime as started_at,
    end_datetime as ended_at,
    {{ local_day('start_datetime') }} as local_day,
    {{ dbt.datediff('start_datetime', 'end_datetime', 'second') }} as interval_s,
    count as passages,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at
from current_measures
