-- Annual consumption per commune (current COG), year, energy and sector: the ORE cells
-- (operator × customer category × NAF division) summed.
--  * consumption_mwh and delivery_points sum the cells whose consumption is known; a cell under
--    statistical secrecy is left out of both and counted in secret_cells. When some cell is
--    missing, the total is a LOWER BOUND of the real consumption (is_lower_bound): ORE hides
--    a cell with few sites, whose consumption is unknown but not zero.
--  * consumption_mwh is NULL (not 0) when no cell of the group has a known consumption.
--  * max_cell_mwh / max_cell_mean_mwh describe the largest known cell, so that the marts can
--    bound the share of the dominant contributor (a delivery point) for publication secrecy.
-- Communes: the code delivered is the COG of the data year; the staging model maps a commune
-- that has merged since, or a municipal arrondissement, to its current commune (code_commune),
-- so its consumption is not lost.
-- Grain: one row per (code_commune, year, energy, sector).
with cells as (
    select * from {{ ref('stg_ore_conso_commune') }}
)

select
    code_commune,
    year,
    energy,
    sector,
    sum(consumption_mwh) as consumption_mwh,
    cast(sum(case when consumption_mwh is not null then delivery_points end) as {{ dbt.type_bigint() }}) as delivery_points,
    count(*) as source_cells,
    cast(sum(case when is_secret then 1 else 0 end) as {{ dbt.type_bigint() }}) as secret_cells,
    sum(case when consumption_mwh is null then 1 else 0 end) > 0 as is_lower_bound,
    count(distinct operator) as operators,
    max(consumption_mwh) as max_cell_mwh,
    max(consumption_mwh / nullif(delivery_points, 0)) as max_cell_mean_mwh
from cells
group by code_commune, year, energy, sector
