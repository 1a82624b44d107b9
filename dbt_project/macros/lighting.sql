{#-
  Public lighting vocabulary. Partners spell the same thing differently: the syndicate exports
  EclExt codes (LED, SHP, MAT, EN…), Beaucaire's GIS exports French labels (Mât, Toute la nuit…).
  These macros map both to one English vocabulary; a value they do not know is kept (trimmed,
  upper-cased for technologies) so that nothing is dropped silently and the accepted_values tests
  name it.
-#}

{#- EclExt lamp technology code (LED, SHP, SBP, IM, VM, FLUO, HAL, INC, IND, XEN) of a code or a French label. -#}
{% macro lamp_technology(value) -%}
    case
        when {{ value }} is null or trim({{ value }}) = '' then null
        when upper(trim({{ value }})) in ('LED', 'DEL') then 'LED'
        when upper(trim({{ value }})) in ('SHP', 'SHP (SODIUM HAUTE PRESSION)', 'SODIUM HAUTE PRESSION', 'SODIUM HP') then 'SHP'
        when upper(trim({{ value }})) in ('SBP', 'SODIUM BASSE PRESSION', 'SODIUM BP') then 'SBP'
        when upper(trim({{ value }})) in ('IM', 'IODURES METALLIQUES', 'IODURE METALLIQUE', 'IODURES MÉTALLIQUES', 'IODURE MÉTALLIQUE', 'CMH') then 'IM'
        when upper(trim({{ value }})) in ('VM', 'VAPEUR DE MERCURE', 'BALLON FLUO', 'BALLON FLUORESCENT') then 'VM'
        when upper(trim({{ value }})) in ('FLUO', 'FLUORESCENT', 'FLUOCOMPACTE', 'TUBE FLUO') then 'FLUO'
        when upper(trim({{ value }})) in ('HAL', 'HALOGENE', 'HALOGÈNE') then 'HAL'
        when upper(trim({{ value }})) in ('INC', 'INCANDESCENCE') then 'INC'
        when upper(trim({{ value }})) in ('IND', 'INDUCTION') then 'IND'
        when upper(trim({{ value }})) in ('XEN', 'XENON', 'XÉNON') then 'XEN'
        else upper(trim({{ value }}))
    end
{%- endmacro %}

{#- How a light point is mounted: pole | wall | ground | catenary. -#}
{% macro light_mounting(value) -%}
    case
        when {{ value }} is null or trim({{ value }}) = '' then null
        when upper(trim({{ value }})) in ('MAT', 'MÂT', 'CANDELABRE', 'CANDÉLABRE', 'POTEAU') then 'pole'
        when upper(trim({{ value }})) in ('MUR', 'FAÇADE', 'FACADE', 'CONSOLE MURALE', 'APPLIQUE') then 'wall'
        when upper(trim({{ value }})) in ('SOL', 'ENCASTRÉ AU SOL', 'ENCASTRE AU SOL', 'ENCASTRÉ') then 'ground'
        when upper(trim({{ value }})) in ('CAT', 'CATÉNAIRE', 'CATENAIRE') then 'catenary'
        else lower(trim({{ value }}))
    end
{%- endmacro %}

{#- Operating mode: all_night | presence_detection | on_demand | night_cut (EclExt eclairageAdaptatif). -#}
{% macro lighting_mode(value) -%}
    case
        when {{ value }} is null or trim({{ value }}) = '' then null
        when upper(trim({{ value }})) in ('EN', 'TOUTE LA NUIT') then 'all_night'
        when upper(trim({{ value }})) in ('CO', 'DÉTECTION DE PRÉSENCE', 'DETECTION DE PRESENCE') then 'presence_detection'
        when upper(trim({{ value }})) in ('AV', 'À LA DEMANDE', 'A LA DEMANDE') then 'on_demand'
        when upper(trim({{ value }})) like 'EXTINCTION%' then 'night_cut'
        else lower(trim({{ value }}))
    end
{%- endmacro %}

{#- Hours elapsed between two instants (fractional), null if either is null. -#}
{% macro hours_between(start_ts, end_ts) -%}
    ({{ dbt.datediff(start_ts, end_ts, 'second') }} / 3600.0)
{%- endmacro %}

{#-
  Lamp sensors report every 10 minutes; each reading stands for the 10-minute step that starts
  at its timestamp (a lamp seen 'on' at 12:00 is counted lit from 12:00 to 12:10).
-#}
{% macro lamp_sensor_step_minutes() -%}10{%- endmacro %}
