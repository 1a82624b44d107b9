"""What the home page shows (templates/home/index.html): the published datasets, the latest
updated, the partners they are computed from — read from the catalogue, as the visitor may see it."""
from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as toolkit

from .dcat import scheming_labels


def home_page() -> dict[str, Any]:
    """Computed once per request (the template asks three times)."""
    cached = getattr(toolkit.g, "territoire_home", None)
    if cached is not None:
        return cached
    found = toolkit.get_action("package_search")({}, {"q": "*:*", "rows": 1000, "sort": "title_string asc"})
    themes = scheming_labels("theme")
    families, releases, partners = [], [], set()
    for d in found["results"]:
        item = {"name": d["name"], "title": d["title"], "metadata_modified": d["metadata_modified"],
                "themes": [themes.get(t, t) for t in d.get("theme") or []]}
        # a family is a dataset series; its releases are its members (plain datasets too)
        (families if d.get("type") == "dataset_series" or not d.get("in_series") else releases).append(item)
        for attribution in d.get("qualified_attribution") or []:
            for agent in attribution.get("agent") or []:
                if agent.get("name"):
                    partners.add(agent["name"])
    latest = sorted(releases or families, key=lambda f: f["metadata_modified"], reverse=True)[:5]
    home = {"datasets": len(families), "families": families, "latest": latest, "partners": sorted(partners)}
    try:
        toolkit.g.territoire_home = home
    except (AttributeError, RuntimeError, TypeError):
        pass
    return home
