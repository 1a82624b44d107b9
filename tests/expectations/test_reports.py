"""Per-run quality reports (one per partner, never another partner's data), Data Docs, and the
status a data engineer reads."""

from __future__ import annotations

import json
import shutil

from territoire_hub.expectations.reports import latest_run, write_reports
from territoire_hub.expectations.runtime import QualityContext
from territoire_hub.orchestration.status import collect_status, render_status
from territoire_hub.warehouse import connect
from tests.expectations.scenes import CABINETS, column, edit, ingest_tree, set_field


def test_reports_name_partner_file_line_and_check_and_stay_within_each_partner(pristine, registry, tmp_path):
    shutil.copytree(pristine, tmp_path / "data")

    def unknown_commune(lines):
        c = column(lines, "code_insee")
        lines[3] = set_field(lines[3], c, "34999")
        return lines
    edit(tmp_path / "data", CABINETS, unknown_commune)
    settings = ingest_tree(tmp_path, registry)

    con = connect(settings.warehouse, read_only=True)
    try:
        run_id = latest_run(con)
        folder = write_reports(con, settings, run_id)
        status = render_status(collect_status(con, registry))
    finally:
        con.close()

    report = json.loads((folder / "quality_report.json").read_text())
    assert report["run_id"] == run_id
    verdicts = {d["file"]: d["verdict"] for d in report["deliveries"]}
    assert verdicts["releves_armoires_202410.csv"] == "quarantined"
    assert verdicts["capteurs_eclairage_20241026.csv.gz"] == "quarantined"     # parse error, same report
    assert "flagged" in {v for f, v in verdicts.items() if f.startswith("comptages_routiers_")}  # repeated rows
    assert verdicts["conso_elec_commune_2024.csv"] == "accepted"
    (cabinets,) = [d for d in report["deliveries"] if d["file"] == "releves_armoires_202410.csv"]
    assert cabinets["partner"] == "herault-energies"
    assert {"check": "unknown_insee_code", "line": 4, "column": "code_insee", "severity": "critical",
            "value": "34999"}.items() <= cabinets["problems"][0].items()
    assert [c["check"] for c in cabinets["failed_checks"]] == ["unknown_insee_code"]

    summary = (folder / "summary.md").read_text()
    assert "QUARANTINED — herault-energies / releves_armoires / releves_armoires_202410.csv" in summary
    assert "line 4, column 'code_insee': '34999' is not an INSEE commune code of the COG" in summary

    # a partner's report holds its own deliveries only
    for path in (folder / "partners").glob("*.json"):
        own = json.loads(path.read_text())
        assert {d["partner"] for d in own["deliveries"]} == {path.stem}
        assert own["marts"] == []
    enedis = (folder / "partners" / "enedis.md").read_text()
    assert "herault-energies" not in enedis and "montpellier" not in enedis

    # the status shows the failed expectation of the quarantined delivery
    assert "herault-energies / releves_armoires / releves_armoires_202410.csv" in status
    assert "line 4: '34999' is not an INSEE commune code of the COG [unknown_insee_code]" in status

    # Data Docs: one page per validation of the run, linked from the index
    index = QualityContext.for_settings(settings).build_docs()
    html = index.read_text()
    assert "herault_energies__releves_armoires__rows" in html
    assert (index.parent / "validations" / "herault_energies__releves_armoires__rows").is_dir()
