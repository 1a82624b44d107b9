-- Yearly state hours of each charging point (sums of int_ev__charge_point_daily), with the
-- point's commune from the current inventory (NULL for a point of the status feed missing from
-- the inventory: it stays out of the territorial roll-ups). Grain: (charge_point_id, year).
select
    d.charge_point_id,
    cast(extract(year from d.local_day) as {{ dbt.type_int() }}) as year,
    max(p.code_commune) as code_commune,
    count(*) as days_observed,
    sum(d.day_hours) as day_hours,
    sum(d.observed_hours) as observed_hours,
    sum(d.occupied_hours) as occupied_hours,
    sum(d.in_service_hours) as in_service_hours
from {{ ref('int_ev__charge_point_daily') }} as d
left join {{ ref('int_ev__charge_points') }} as p on p.charge_point_id = d.charge_point_id
group by d.charge_point_id, extract(year from d.local_day)
