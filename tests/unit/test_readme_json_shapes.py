"""README.md's "JSON shapes" section documents the models of hub/views/shapes.py: each
example there is an instance of its model (every key, no other), and each key list
names the model's keys in their order. A key added to a model without a word in the
README fails here, and so does a README key no output has."""

from __future__ import annotations

import json
import re
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel, TypeAdapter

from omnisync.hub.views.shapes import (
    ChannelSummaryOut,
    MovementHistoryOut,
    OrderOut,
    ShipmentOut,
    ShippedOut,
    SkuOut,
    StatusOut,
    StockOut,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def shapes_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### JSON shapes")
    return text[start : text.index("\n## ", start)]


def json_examples() -> list[str]:
    return re.findall(r"```json\n(.*?)```", shapes_section(), flags=re.DOTALL)


def key_list(after: str) -> list[str]:
    """The keys of the inline `{"a", "b": [{"c"}], ...}` that follows `after`."""
    section = shapes_section()
    start = section.index("`", section.index(after) + len(after))
    fragment = section[start + 1 : section.index("`", start + 1)]
    return re.findall(r'"(\w+)"', fragment)


def nested_shape(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (itself, in a list, or optional), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (list, Union, types.UnionType):
        for argument in get_args(annotation):
            found = nested_shape(argument)
            if found is not None:
                return found
    return None


def names_in_order(model: type[BaseModel]) -> list[str]:
    """The model's keys in output order, each nested model's keys after its own key."""
    names = []
    for name, field in model.model_fields.items():
        names.append(name)
        inner = nested_shape(field.annotation)
        if inner is not None:
            names += names_in_order(inner)
    return names


@pytest.mark.parametrize(
    ("index", "shape"),
    [(0, StockOut), (1, OrderOut), (3, StatusOut)],
    ids=["stock show", "orders list", "status"],
)
def test_each_json_example_is_exactly_an_instance_of_its_model(index: int, shape: Any) -> None:
    example = json.loads(json_examples()[index])
    TypeAdapter(shape).validate_python(example)  # no key missing, none unknown


def test_the_shipments_example_is_a_list_of_the_parcel_model() -> None:
    fragment = json_examples()[2]
    assert fragment.lstrip().startswith('"shipments":')
    shipments = json.loads("{" + fragment + "}")["shipments"]
    TypeAdapter(list[ShipmentOut]).validate_python(shipments)


@pytest.mark.parametrize(
    ("after", "shape"),
    [
        ("`omnisync stock history SKU --json`: a list of", MovementHistoryOut),
        ("`omnisync skus list --json`: a list of", SkuOut),
        ("`omnisync channels list --json`: a list of", ChannelSummaryOut),
        ("`orders ship --json`\nprints", ShippedOut),
    ],
    ids=["stock history", "skus list", "channels list", "orders ship"],
)
def test_each_key_list_names_the_model_keys_in_order(after: str, shape: type[BaseModel]) -> None:
    documented = key_list(after)
    if shape is ShippedOut:  # `{"order": <this shape>, "shipment": <the new parcel>}`
        assert documented == list(shape.model_fields)
    else:
        assert documented == names_in_order(shape)
