"""Partial responses: the ``fields`` parameter (``id,name,files(id,size),nextPageToken``,
also the path form ``files/id``)."""

from __future__ import annotations

from typing import Any

from emulators.drive.errors import bad_request

Selector = dict[str, "Selector | None"]


def parse(fields: str) -> Selector:
    """Parse a fields mask into a nested dict; ``None`` means the whole value."""
    selector, rest = _parse_list(fields.replace(" ", ""), 0)
    if rest != len(fields.replace(" ", "")):
        raise bad_request(f"Invalid field selection {fields}", "invalidParameter")
    return selector


def _parse_list(text: str, pos: int) -> tuple[Selector, int]:
    selector: Selector = {}
    while pos < len(text) and text[pos] != ")":
        end = pos
        while end < len(text) and text[end] not in ",()":
            end += 1
        name = text[pos:end]
        if not name:
            raise bad_request(f"Invalid field selection {text}", "invalidParameter")
        inner: Selector | None = None
        if end < len(text) and text[end] == "(":
            inner, end = _parse_list(text, end + 1)
            if end >= len(text) or text[end] != ")":
                raise bad_request(f"Invalid field selection {text}", "invalidParameter")
            end += 1
        _merge(selector, name.split("/"), inner)
        pos = end + 1 if end < len(text) and text[end] == "," else end
    return selector, pos


def _merge(selector: Selector, path: list[str], inner: Selector | None) -> None:
    """Add ``a/b/c`` (with its sub-selection) to the nested selector."""
    if any(not part for part in path):
        raise bad_request(f"Invalid field selection {'/'.join(path)}", "invalidParameter")
    head, rest = path[0], path[1:]
    if not rest:
        selector[head] = inner if not isinstance(selector.get(head), dict) or inner is None \
            else {**selector[head], **inner}  # type: ignore[dict-item]
        return
    child = selector.get(head)
    if head in selector and child is None:
        return  # the whole value is already selected
    child = child if isinstance(child, dict) else {}
    selector[head] = child
    _merge(child, rest, inner)


def apply(value: Any, selector: Selector | None) -> Any:
    """Keep only the selected keys (lists are filtered element by element)."""
    if selector is None or "*" in selector:
        return value
    if isinstance(value, list):
        return [apply(item, selector) for item in value]
    if not isinstance(value, dict):
        return value
    return {key: apply(value[key], sub) for key, sub in selector.items() if key in value}
