"""Energy: hand-made Enedis (Agence ORE layout) deliveries in, exact indicators (computed by hand) out.

The scene, in the CC de Petite Camargue (243000593, five communes of the Gard):
- 2023, original delivery: Aimargues (30006) has a residential cell (1,000 points, 5,000.5 MWh), two
  known tertiary cells (50 points / 700 MWh and 5 points / 1,300 MWh) and one secret tertiary cell,
  and only secret industrial cells (one blank, one written 's'); Aubord (30020) has residential
  (400 / 1,800), tertiary (20 / 300) and agricultural (3 / 45.5) cells. The three other communes
  have no cell at all.
- 2023, `_rectificatif` delivery: Aimargues' residential cell becomes 1,010 points / 5,100 MWh.
- 2024: residential cells only (Aimargues 1,000 / 5,000 MWh, Aubord 400 / 1,800 MWh), and a
  Météo-France station (Montpellier, served over HTTP like the real partner) that reads 12.0 °C every
  hour of 2024: DJU base 17 = 5 per day, 244 days in the 2024 heating season, DJU = 1,220 (242
  days observed, completed pro rata: see the test).
  With DJU_normal = 1,358 (the Gard, seed dju_normales) and p = 0.40 (seed parts_thermosensibles):
  r = 1220 / 1358 (the Gard's normal), 1 + p (r - 1) = 1 - 0.4 × 138 / 1358, so CC = CR × 1358 / 1302.8.
"""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from territoire_hub.settings import Settings
from territoire_hub.sources.demo.server import PartnerServer
from tests.dbt_harness import build, deliver, ingest, query

MART = "marts.energie_territoire_annee"
ENERGY = "enedis__conso_annuelle_commune"
WEATHER = "meteo_france__observations_horaires"
PETITE_CAMARGUE, AIMARGUES, AUBORD = "243000593", "30006", "30020"
NO_DATA = "aucune cellule de consommation livrée pour ce territoire, cette année, cette énergie et ce secteur"
ALL_SECRET = "toutes les cellules livrées sont sous secret statistique à la source (consommation inconnue)"
NO_WEATHER = "pas de données météo pour cette année : correction climatique impossible"

# the `required` columns of territoire_hub/formats/ore_conso_commune.yaml, plus the measures
HEADER = ("operateur;filiere;annee;code_commune;code_categorie_consommation;code_grand_secteur;"
          "code_secteur_naf2;nb_sites;conso_totale_mwh;conso_moyenne_mwh;nombre_d_habitants;"
          "taux_de_chauffage_electrique")


def ore(rows: list[str], bom: bool = False) -> str:
    return ("\ufeff" if bom else "") + "\n".join([HEADER, *rows]) + "\n"


def cells_2023(aimargues_residential: str) -> list[str]:
    return [
        f"Enedis;Electricité;2023;30006;RES;RESIDENTIEL;;{aimargues_residential};5705;0.41",
        "Enedis;Electricité;2023;30006;PRO;TERTIAIRE;;50;700;14;;",
        "Enedis;Electricité;2023;30006;ENT;TERTIAIRE;47;5;1300;260;;",
        "Enedis;Electricité;2023;30006;ENT;TERTIAIRE;86;;;0.0;;",     # secret: blanks, 0.0 mean
        "Enedis;Electricité;2023;30006;ENT;INDUSTRIE;10;;;0.0;;",     # secret
        "Enedis;Electricité;2023;30006;PRO;INDUSTRIE;;s;s;0.0;;",     # secret, written 's'
        "Enedis;Electricité;2023;30020;RES;RESIDENTIEL;;400.0;1800;4.5;2253.00000000001;0.35",
        "Enedis;Electricité;2023;30020;PRO;TERTIAIRE;;20;300;15;;",
        "Enedis;Electricité;2023;30020;PRO;AGRICULTURE;;3;45.5;15.167;;",
    ]


def mart(settings: Settings, year: int, columns: str, where: str = "") -> dict:
    """{(niveau, code_territoire, secteur): row} of the mart for a year."""
    rows = query(settings, f"SELECT niveau, code_territoire, secteur, {columns} FROM {MART} "
                           f"WHERE annee = ? AND energie = 'electricite' {where}", [year])
    return {(r[0], r[1], r[2]): r[3:] for r in rows}


def assert_rows(got: dict, expected: dict) -> None:
    """Same keys, and per key the same values (floats to 1e-6 relative, None and text exactly)."""
    assert sorted(got) == sorted(expected)
    for key, values in expected.items():
        assert got[key] == pytest.approx(values), key


def population(settings: Settings, code_commune: str) -> int:
    return query(settings, "SELECT population FROM intermediate.int_territory__communes WHERE code_commune = ?",
                 [code_commune])[0][0]


def hourly_files(root: Path, year: int, celsius: float) -> None:
    """One Météo-France H_DD file per month for département 34: one station, a constant temperature."""
    header = "NUM_POSTE;NOM_USUEL;LAT;LON;ALTI;AAAAMMJJHH;RR1;T;TN;TX"
    by_month: dict[str, list[str]] = {}
    hour = datetime(year, 1, 1, 0)
    while hour.year == year:
        stamp = hour.strftime("%Y%m%d%H")
        by_month.setdefault(stamp[:6], []).append(
            f"34172001;MONTPELLIER;43.61;3.87;10;{stamp};0.0;{celsius};{celsius};{celsius}")
        hour += timedelta(hours=1)
    folder = root / "meteo-france" / "horaire"
    folder.mkdir(parents=True)
    for month, rows in by_month.items():
        (folder / f"H_34_{month}.csv.gz").write_bytes(gzip.compress(("\n".join([header, *rows]) + "\n").encode()))


@pytest.fixture(scope="module")
def built(tmp_path_factory, registry):
    """The scene ingested and built once (models, seeds and their tests) for the module's assertions."""
    root = tmp_path_factory.mktemp("energy")
    hourly_files(root / "remote", 2024, 12.0)
    with pytest.MonkeyPatch.context() as mp, PartnerServer(root / "remote") as server:
        # only the tests whose parents are all selected: other domains' tests on the shared sources stay out
        mp.setenv("DBT_INDIRECT_SELECTION", "cautious")
        settings = Settings.from_env({"HUB_HOME": str(root / "hub"), "HUB_HTTP_BACKOFF": "0.01",
                                      "HUB_HTTP_TIMEOUT": "2", "HUB_URL_METEO_FRANCE": f"{server.url}/meteo-france"})
        deliver(settings, "enedis", "conso_elec_commune_2023.csv", ore(cells_2023("1000;5000.5;5.0005"), bom=True))
        deliver(settings, "enedis", "conso_elec_commune_2024.csv", ore([
            "Enedis;Electricité;2024;30006;RES;RESIDENTIEL;;1000;5000;5.0;5705;0.41",
            "Enedis;Electricité;2024;30020;RES;RESIDENTIEL;;400;1800;4.5;2253;0.35",
        ]))
        energy, weather = ingest(settings, registry, [ENERGY, WEATHER])
        assert energy.quarantined == [] and energy.rows == 11
        assert weather.loaded == 12 and weather.quarantined == []
        build(settings, "+energie_territoire_annee")
        yield settings


def test_staging_keeps_secret_cells_null_and_flagged(built):
    # a secret cell stays NULL (never 0) and flagged, 's' included; the 0.0 mean is dropped
    assert query(built, """
        SELECT naf_division, delivery_points, consumption_mwh, mean_mwh_per_site, is_secret
        FROM staging.stg_ore_conso_commune
        WHERE code_commune = '30006' AND year = 2023 AND is_secret ORDER BY customer_category, naf_division""") == [
        ("10", None, None, None, True), ("86", None, None, None, True), (None, None, None, None, True)]
    assert query(built, """
        SELECT energy, delivery_points, consumption_kwh, population_context
        FROM staging.stg_ore_conso_commune
        WHERE code_commune = '30020' AND year = 2023 AND sector = 'RESIDENTIEL'""") == [
        ("electricity", 400, 1_800_000.0, 2253.0)]


def test_consumption_per_sector_secret_cells_and_epci_rollup(built):
    cols = ("conso_mwh, points_de_livraison, cellules_secretisees, total_minorant, conso_kwh_par_point, "
            "motif_absence")
    got = mart(built, 2023, cols, f"AND code_territoire IN ('{AIMARGUES}', '{AUBORD}', '30341', '{PETITE_CAMARGUE}')")
    expected = {
        # Aimargues: residential; tertiary 700 + 1,300 with one secret cell (lower bound); industry all secret
        ("commune", AIMARGUES, "RESIDENTIEL"): (5000.5, 1000, 0, False, 5000.5, NO_WEATHER),
        ("commune", AIMARGUES, "TERTIAIRE"): (2000.0, 55, 1, True, 2_000_000 / 55, None),
        ("commune", AIMARGUES, "INDUSTRIE"): (None, None, 2, True, None, ALL_SECRET),
        ("commune", AIMARGUES, "AGRICULTURE"): (None, None, 0, False, None, NO_DATA),
        ("commune", AIMARGUES, "INCONNU"): (None, None, 0, False, None, NO_DATA),
        ("commune", AIMARGUES, "TOUS"): (7000.5, 1055, 3, True, 7_000_500 / 1055, None),
        ("commune", AUBORD, "RESIDENTIEL"): (1800.0, 400, 0, False, 4500.0, NO_WEATHER),
        ("commune", AUBORD, "TERTIAIRE"): (300.0, 20, 0, False, 15000.0, None),
        ("commune", AUBORD, "INDUSTRIE"): (None, None, 0, False, None, NO_DATA),
        ("commune", AUBORD, "AGRICULTURE"): (45.5, 3, 0, False, 45500 / 3, None),
        ("commune", AUBORD, "INCONNU"): (None, None, 0, False, None, NO_DATA),
        ("commune", AUBORD, "TOUS"): (2145.5, 423, 0, False, 2_145_500 / 423, None),
        # Vauvert: no cell at all, still there
        **{("commune", "30341", s): (None, None, 0, False, None, NO_DATA if s != "RESIDENTIEL" else f"{NO_DATA}; {NO_WEATHER}")
           for s in ("RESIDENTIEL", "TERTIAIRE", "INDUSTRIE", "AGRICULTURE", "INCONNU", "TOUS")},
        # the EPCI is the sum of its communes
        ("epci", PETITE_CAMARGUE, "RESIDENTIEL"): (6800.5, 1400, 0, False, 6_800_500 / 1400, NO_WEATHER),
        ("epci", PETITE_CAMARGUE, "TERTIAIRE"): (2300.0, 75, 1, True, 2_300_000 / 75, None),
        ("epci", PETITE_CAMARGUE, "INDUSTRIE"): (None, None, 2, True, None, ALL_SECRET),
        ("epci", PETITE_CAMARGUE, "AGRICULTURE"): (45.5, 3, 0, False, 45500 / 3, None),
        ("epci", PETITE_CAMARGUE, "INCONNU"): (None, None, 0, False, None, NO_DATA),
        ("epci", PETITE_CAMARGUE, "TOUS"): (9146.0, 1478, 3, True, 9_146_000 / 1478, None),
    }
    assert_rows(got, expected)

    # secrecy inputs for the publication layer: bounds of the dominant delivery point's share
    assert_rows(mart(built, 2023, "part_point_dominant_min, part_point_dominant_max",
                     f"AND code_territoire = '{AIMARGUES}' AND secteur IN ('TERTIAIRE', 'TOUS')"), {
        ("commune", AIMARGUES, "TERTIAIRE"): (260 / 2000, 1300 / 2000),
        ("commune", AIMARGUES, "TOUS"): (260 / 7000.5, 5000.5 / 7000.5),
    })


def test_consumption_per_inhabitant_uses_the_cog_population(built):
    per_head = mart(built, 2023, "conso_mwh_par_habitant, population",
                    f"AND secteur IN ('RESIDENTIEL', 'TOUS') AND code_territoire IN ('{AIMARGUES}', '{PETITE_CAMARGUE}')")
    pop_aimargues = population(built, AIMARGUES)
    pop_epci = sum(population(built, c) for c in ("30006", "30020", "30033", "30059", "30341"))
    assert pop_aimargues == 5705 and pop_epci == 28273
    assert_rows(per_head, {
        ("commune", AIMARGUES, "RESIDENTIEL"): (5000.5 / pop_aimargues, pop_aimargues),
        ("commune", AIMARGUES, "TOUS"): (7000.5 / pop_aimargues, pop_aimargues),
        ("epci", PETITE_CAMARGUE, "RESIDENTIEL"): (6800.5 / pop_epci, pop_epci),
        ("epci", PETITE_CAMARGUE, "TOUS"): (9146.0 / pop_epci, pop_epci),
    })


def test_climate_corrected_residential_consumption(built):
    got = mart(built, 2024, "conso_mwh, dju_17_saison_chauffe, dju_17_normal, rapport_climatique, "
                            "part_thermosensible, conso_corrigee_climat_mwh, motif_absence",
               f"AND secteur = 'RESIDENTIEL' AND code_territoire IN ('{AIMARGUES}', '{AUBORD}', '{PETITE_CAMARGUE}', '30341')")
    # the Gard's normal: 1,358 DJU base 17 (Nîmes-Courbessac, Météo-France 1991–2020, seed dju_normales)
    r = 1220 / 1358  # CC = CR / (1 + 0.4 × (r − 1)) = CR × 1358 / (1358 − 0.4 × 138) = CR × 1358 / 1302.8
    k = 1358 / 1302.8
    assert_rows(got, {
        ("commune", AIMARGUES, "RESIDENTIEL"): (5000.0, 1220.0, 1358.0, r, 0.4, 5000 * k, None),
        ("commune", AUBORD, "RESIDENTIEL"): (1800.0, 1220.0, 1358.0, r, 0.4, 1800 * k, None),
        ("epci", PETITE_CAMARGUE, "RESIDENTIEL"): (6800.0, 1220.0, 1358.0, r, 0.4, 6800 * k, None),
        # weather and normals are there, consumption is not: nothing to correct
        ("commune", "30341", "RESIDENTIEL"): (None, 1220.0, 1358.0, r, 0.4, None, NO_DATA),
    })
    # The TN window of 1 January and the TX window of 31 December reach into hours of 2023 and 2025
    # that the 2024 files do not hold: 242 of the 244 season days are observed (≥ 98 %), and the
    # observed 242 × 5 = 1,210 degree-days are completed pro rata to 1,220.
    assert query(built, f"""SELECT DISTINCT couverture_meteo_saison_chauffe FROM {MART}
        WHERE annee = 2024 AND secteur = 'RESIDENTIEL'""") == [(242 / 244,)]
    assert query(built, "SELECT dju_17_heating_season FROM intermediate.int_weather__commune_yearly "
                        "WHERE code_commune = ? AND year = 2024", [AIMARGUES]) == [(1210.0,)]
    # only residential rows are corrected
    assert query(built, f"""SELECT count(*) FROM {MART} WHERE secteur <> 'RESIDENTIEL'
        AND (conso_corrigee_climat_mwh IS NOT NULL OR rapport_climatique IS NOT NULL)""") == [(0,)]


def test_a_rectified_delivery_replaces_the_original(built, registry):
    """Last in the module: it changes the scene."""
    deliver(built, "enedis", "conso_elec_commune_2023_rectificatif.csv", ore(cells_2023("1010;5100;5.0495")))
    [report] = ingest(built, registry, [ENERGY])
    assert report.quarantined == [] and report.loaded == 1
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBT_INDIRECT_SELECTION", "cautious")
        build(built, "stg_ore_conso_commune+,+energie_territoire_annee")  # what a new energy delivery touches, up to the energy mart
    # the original's rows stay in raw; only the correction is current
    assert query(built, f"SELECT count(*) FROM raw.{ENERGY} WHERE annee = 2023") == [(18,)]
    assert query(built, "SELECT count(*), count(DISTINCT _delivery_id) FROM staging.stg_ore_conso_commune "
                        "WHERE year = 2023") == [(9, 1)]
    got = mart(built, 2023, "conso_mwh, points_de_livraison",
               f"AND code_territoire IN ('{AIMARGUES}', '{PETITE_CAMARGUE}') AND secteur IN ('RESIDENTIEL', 'TOUS')")
    assert_rows(got, {
        ("commune", AIMARGUES, "RESIDENTIEL"): (5100.0, 1010),
        ("commune", AIMARGUES, "TOUS"): (7100.0, 1065),
        ("epci", PETITE_CAMARGUE, "RESIDENTIEL"): (6900.0, 1410),
        ("epci", PETITE_CAMARGUE, "TOUS"): (9245.5, 1488),  # 9,146 − 5,000.5 + 5,100
    })
    # the other year is untouched
    assert mart(built, 2024, "conso_mwh", f"AND code_territoire = '{AIMARGUES}' AND secteur = 'RESIDENTIEL'") == {
        ("commune", AIMARGUES, "RESIDENTIEL"): (5000.0,)}
