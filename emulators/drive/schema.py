"""Which ``fields=`` selections Drive accepts: the resource schemas of Drive v3's discovery
document (the copy bundled with google-api-python-client), so a selection naming a field
that Google's resource does not have answers 400 ``Invalid field selection NAME``, as on
Google, even for fields the emulator does not fill in."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from emulators.drive.errors import invalid_field_selection

Selector = dict[str, "Selector | None"]


@cache
def _schemas() -> dict[str, Any]:
    from googleapiclient.discovery_cache import get_static_doc

    document = get_static_doc("drive", "v3")
    if document is None:  # pragma: no cover - the package always ships it
        raise RuntimeError("google-api-python-client's bundled drive.v3.json is missing")
    return json.loads(document)["schemas"]


def _target(prop: dict[str, Any]) -> str | dict[str, Any] | None:
    """What a property's sub-selection is checked against: a schema name, an inline object
    schema, or None when any key is fine (maps such as ``appProperties``)."""
    if "$ref" in prop:
        return prop["$ref"]
    if prop.get("type") == "array":
        return _target(prop.get("items", {}))
    if prop.get("type") == "object":
        return None if "additionalProperties" in prop else prop
    return None


def check(selector: Selector, schema: str | dict[str, Any]) -> None:
    """Raise 400 for the first selected name the schema does not have."""
    properties = (_schemas()[schema] if isinstance(schema, str) else schema).get(
        "properties", {})
    for name, sub in selector.items():
        if name == "*":
            continue
        if name not in properties:
            raise invalid_field_selection(name)
        target = _target(properties[name])
        if sub is not None and target is not None:
            check(sub, target)
