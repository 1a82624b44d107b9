-- Consumption totals Agence ORE publishes for whole départements and régions (the département and
-- région extracts, long or wide), per year, energy and sector: the cells summed over operators,
-- customer categories and NAF codes. They let the marts set a territory's sum of commune cells
-- against what ORE publishes for the same area (commune cells under secrecy make the former a
-- lower bound). When several layouts give the same département, the long extract wins over the
-- wide export. Grain: (niveau, code_territoire, year, energy, sector), sector 'TOUS' included.
with departement_long as (
    select 'departement' as niveau, code_departement as code_territoire, year, energy, sector,
           consumption_mwh, delivery_points, case when is_secret then 1 else 0 end as secret_cells,
           'ore_conso_departement' as source_format, 1 as source_rank
    from {{ ref('stg_ore_conso_departement') }}
),

departement_wide as (
    select 'departement', code_departement, year, energy, sector,
           consumption_mwh, delivery_points, coalesce(secret_meshes, 0),
           'ore_conso_departement_large', 2
    from {{ ref('stg_ore_conso_departement_large') }}
),

region_naf as (
    select 'region', code_region, year, energy, sector,
           consumption_mwh, delivery_points, coalesce(secret_meshes, 0),
           'ore_conso_region_naf', 1
    from {{ ref('stg_ore_conso_region_naf') }}
),

cells as (
    select * from departement_long
    union all select * from departement_wide
    union all select * from region_naf
),

best_source as (  -- one layout per territory, year and energy
    select niveau, code_territoire, year, energy, min(source_rank) as source_rank
    from cells
    group by niveau, code_territoire, year, energy
),

chosen as (
    select c.*
    from cells as c
    inner join best_source as b
        on b.niveau = c.niveau and b.code_territoire = c.code_territoire and b.year = c.year
       and b.energy = c.energy and b.source_rank = c.source_rank
),

by_sector as (
    select niveau, code_territoire, year, energy, sector,
           sum(consumption_mwh) as consumption_mwh,
           sum(delivery_points) as delivery_points,
           sum(secret_cells) as secret_cells,
           min(source_format) as source_format
    from chosen
    group by niveau, code_territoire, year, energy, sector
)

select * from by_sector
union all
select niveau, code_territoire, year, energy, 'TOUS',
       sum(consumption_mwh), sum(delivery_points), sum(secret_cells), min(source_format)
from by_sector
group by niveau, code_territoire, year, energy
