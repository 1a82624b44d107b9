"""dbt lineage read from the manifest (territoire_hub/lineage.py): read once per version of the
file, read again when dbt writes a new one."""

from __future__ import annotations

import json
import os

from territoire_hub.lineage import model_docs, target_path


def _write_manifest(settings, description: str) -> None:
    node = {"resource_type": "model", "name": "trafic_compteur", "description": description,
            "columns": {"tmj": {"description": "trafic moyen journalier", "meta": {"precision": 0}}}}
    path = target_path(settings) / "manifest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"nodes": {"model.territoire_hub.trafic_compteur": node}}))


def test_the_manifest_is_read_again_when_dbt_rewrites_it(settings):
    assert model_docs(settings) == {}                     # no manifest yet: no lineage
    _write_manifest(settings, "Trafic par compteur")
    first = model_docs(settings)
    assert first["trafic_compteur"] == {"description": "Trafic par compteur",
                                        "columns": {"tmj": "trafic moyen journalier"}, "precision": {"tmj": 0}}
    path = target_path(settings) / "manifest.json"
    stamp = path.stat().st_mtime_ns
    _write_manifest(settings, "Trafic par compteur, jours ouvrés")     # same second, another size
    os.utime(path, ns=(stamp, stamp))
    assert model_docs(settings)["trafic_compteur"]["description"] == "Trafic par compteur, jours ouvrés"
