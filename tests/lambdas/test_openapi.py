"""The shipped OpenAPI document is the one the producer API's routes generate, and valid."""

from __future__ import annotations

import json
from pathlib import Path

from openapi_spec_validator import validate

from cdc_ops.tools.api_server import OPENAPI_TITLE, openapi_document

SHIPPED = Path(__file__).resolve().parents[2] / "docs" / "producer-api.openapi.json"


def test_the_shipped_document_is_the_generated_one() -> None:
    assert SHIPPED.read_text() == openapi_document(), (
        f"{SHIPPED.name} differs from what the routes generate; run "
        "`cdc-ops api openapi -o docs/producer-api.openapi.json` and commit it"
    )


def test_both_flavors_generate_the_same_document() -> None:
    assert openapi_document("dsql") == openapi_document("pg")


def test_the_document_is_valid_openapi_3_with_every_route() -> None:
    document = json.loads(openapi_document())
    validate(document)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == OPENAPI_TITLE
    assert document["info"]["version"] and document["info"]["description"]
    routes = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert routes == {
        ("POST", "/api/v1/events"),
        ("GET", "/api/v1/events/{event_id}"),
        ("GET", "/cars"),
        ("POST", "/cars"),
        ("GET", "/cars/{car_id}"),
    }
