"""The classic extras the hub's datasets carry for CKAN harvesters (data.gouv.fr's reads
``spatial`` as a GeoJSON polygon, ``spatial-text``, ``temporal_start``/``temporal_end``,
``frequency``)."""
import json

from ckanext.territoire.harvesters import classic_extras, wkt_polygon_to_geojson

BOX = "POLYGON((3.7061 43.5287,4.6438 43.5287,4.6438 43.8532,3.7061 43.8532,3.7061 43.5287))"


def test_a_wkt_box_becomes_a_geojson_polygon():
    assert wkt_polygon_to_geojson(BOX) == {"type": "Polygon", "coordinates": [[
        [3.7061, 43.5287], [4.6438, 43.5287], [4.6438, 43.8532], [3.7061, 43.8532], [3.7061, 43.5287]]]}


def test_anything_but_one_closed_ring_is_refused():
    assert wkt_polygon_to_geojson("POINT(4.17 43.69)") is None
    assert wkt_polygon_to_geojson("POLYGON((0 0,1 0,1 1,0 0),(0.1 0.1,0.2 0.1,0.2 0.2,0.1 0.1))") is None  # a hole
    assert wkt_polygon_to_geojson("POLYGON((0 0,1 0,1 1,0 1))") is None                                     # not closed
    assert wkt_polygon_to_geojson("POLYGON((0 0,1 0,x 1,0 0))") is None
    assert wkt_polygon_to_geojson("") is None and wkt_polygon_to_geojson(None) is None


def test_extras_come_from_the_dcat_ap_fields():
    extras = {e["key"]: e["value"] for e in classic_extras({
        "frequency": "http://publications.europa.eu/resource/authority/frequency/ANNUAL",
        "temporal_coverage": [{"start": "2024-01-01", "end": "2024-12-31"}],
        "spatial_coverage": [{"text": "Littoral (49 communes)", "bbox": BOX},
                             {"text": "Occitanie (région 76)", "uri": "https://geo.api.gouv.fr/regions/76"}]})}
    assert extras["frequency"].endswith("/ANNUAL")
    assert (extras["temporal_start"], extras["temporal_end"]) == ("2024-01-01", "2024-12-31")
    assert extras["spatial-text"] == "Littoral (49 communes)"
    assert json.loads(extras["spatial"])["type"] == "Polygon"
    assert extras["spatial-uri"] == "https://geo.api.gouv.fr/regions/76"


def test_a_dataset_without_coverage_gets_no_empty_extras():
    assert classic_extras({"temporal_coverage": [{"start": "2024-01-01"}]}) == []
