"""The project's copy of the marketplaces' specifications: complete, unaltered since it
was built, self-contained, and made by a build script that keeps facts and drops prose."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from graphql import build_client_schema

from omnisync.sandbox.amazon.limits import usage_plan
from omnisync.sandbox.amazon.static import operation_specs
from omnisync.sandbox.reference import REFERENCE_DIR, USAGE_PLAN_KEY, amazon_model
from omnisync.sandbox.reference.build import AMAZON_MODELS, SHOPIFY_SCHEMA, build

PROVENANCE = json.loads((REFERENCE_DIR / "provenance.json").read_text(encoding="utf-8"))


def test_every_copy_matches_its_recorded_checksum() -> None:
    files = {
        name: facts for source in PROVENANCE.values() for name, facts in source["files"].items()
    }
    assert len(files) >= 15
    for name, facts in files.items():
        digest = hashlib.sha256((REFERENCE_DIR / name).read_bytes()).hexdigest()
        assert digest == facts["sha256"], f"{name} changed since it was built"


def test_each_source_carries_its_licence_and_provenance() -> None:
    assert "Apache License" in (REFERENCE_DIR / "amazon" / "LICENSE").read_text()
    assert "Amazon.com" in (REFERENCE_DIR / "amazon" / "NOTICE").read_text()
    assert "ISC License" in (REFERENCE_DIR / "shopify" / "LICENSE").read_text()
    for source in PROVENANCE.values():
        assert all(source[key] for key in ("source", "version", "licence"))


def test_the_copy_is_small() -> None:
    total = sum(path.stat().st_size for path in REFERENCE_DIR.rglob("*") if path.is_file())
    assert total < 3_000_000


def test_every_amazon_operation_has_its_published_usage_plan() -> None:
    for name in AMAZON_MODELS:
        for item in amazon_model(name)["paths"].values():
            for method, operation in item.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    plan = operation[USAGE_PLAN_KEY]
                    assert plan["rate"] > 0, (name, method)
                    assert plan["burst"] >= 1, (name, method)
    assert usage_plan("getOrders") == (0.0167, 20)
    assert usage_plan("patchListingsItem") == (5.0, 5)
    assert usage_plan("createFeed") == (0.0083, 15)


def test_amazon_sandbox_cases_survive_and_prose_is_gone() -> None:
    cases = operation_specs()["getOrders"].cases
    assert any(case.parameters.get("CreatedAfter") == "TEST_CASE_200" for case in cases)
    text = (REFERENCE_DIR / "amazon" / "models" / "ordersV0.json").read_text()
    assert "x-amzn-api-sandbox" in text
    assert '"description": "' not in text.split('"x-amzn-api-sandbox"')[0]


def test_the_shopify_schema_builds_without_descriptions() -> None:
    with gzip.open(REFERENCE_DIR / "shopify" / SHOPIFY_SCHEMA) as handle:
        introspection = json.load(handle)
    schema = build_client_schema(introspection["data"])
    mutation = schema.mutation_type
    assert mutation is not None
    assert "inventorySetQuantities" in mutation.fields
    assert mutation.fields["inventorySetQuantities"].description is None


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_build_keeps_facts_and_drops_prose(tmp_path: Path) -> None:
    source, target = tmp_path / "official", tmp_path / "copy"
    operation = {
        "operationId": "getThing",
        "description": "Gets a thing.\n\n| Rate (requests per second) | Burst |\n| ---- | ---- |\n"
        "| 0.5 | 30 |",
        "summary": "Get a thing",
        "parameters": [{"name": "id", "in": "path", "description": "The id.", "type": "string"}],
        "responses": {
            "200": {
                "description": "OK",
                "x-amzn-api-sandbox": {
                    "static": [{"request": {}, "response": {"description": "kept: data"}}]
                },
            }
        },
    }
    model = {
        "paths": {"/things/{id}": {"get": operation}},
        "definitions": {
            "Thing": {
                "description": "A thing.",
                "properties": {"description": {"type": "string", "description": "Its text."}},
            }
        },
    }
    for name in AMAZON_MODELS:
        _write(source / "amazon" / "models" / name, model)
    _write(source / "amazon" / "schemas" / "feed.json", {"description": "x", "type": "object"})
    _write(source / "amazon" / "schemas" / "feed.example.json", {"description": "payload"})
    (source / "amazon" / "LICENSE").write_text("Apache License")
    (source / "amazon" / "NOTICE").write_text("notice")
    (source / "shopify").mkdir()
    (source / "shopify" / "LICENSE").write_text("ISC License")
    introspection = {"data": {"__schema": {"types": [{"name": "Shop", "description": "A shop."}]}}}
    with gzip.open(source / "shopify" / SHOPIFY_SCHEMA, "wt") as handle:
        json.dump(introspection, handle)

    provenance = build(source, target)

    copied = json.loads((target / "amazon" / "models" / AMAZON_MODELS[0]).read_text())
    thing = copied["paths"]["/things/{id}"]["get"]
    assert thing == {
        "operationId": "getThing",
        "parameters": [{"name": "id", "in": "path", "type": "string"}],
        "responses": {
            "200": {
                "x-amzn-api-sandbox": {
                    "static": [{"request": {}, "response": {"description": "kept: data"}}]
                }
            }
        },
        USAGE_PLAN_KEY: {"rate": 0.5, "burst": 30},
    }
    assert copied["definitions"] == {"Thing": {"properties": {"description": {"type": "string"}}}}
    schemas = target / "amazon" / "schemas"
    assert json.loads((schemas / "feed.json").read_text()) == {"type": "object"}
    assert json.loads((schemas / "feed.example.json").read_text()) == {"description": "payload"}
    with gzip.open(target / "shopify" / SHOPIFY_SCHEMA) as handle:
        assert json.load(handle) == {"data": {"__schema": {"types": [{"name": "Shop"}]}}}
    assert (target / "amazon" / "NOTICE").read_text() == "notice"
    recorded = provenance["shopify"]["files"][f"shopify/{SHOPIFY_SCHEMA}"]
    assert (
        recorded["sha256"]
        == hashlib.sha256((target / "shopify" / SHOPIFY_SCHEMA).read_bytes()).hexdigest()
    )


def test_build_refuses_an_incomplete_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from omnisync.sandbox.reference.build import main

    assert main([str(tmp_path)]) == 2
    assert "missing official files" in capsys.readouterr().err
