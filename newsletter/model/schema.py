"""The JSON Schema of the issue format, made from the model so the two never disagree.

Editors' editors (VS Code with the YAML extension, any yaml-language-server client) read it
through the ``# yaml-language-server: $schema=...`` line of the ``new`` skeleton, and then
complete field names, show each field's description and underline a misspelt or misplaced
field while the editor types. The package ships it as ``newsletter/data/issue.schema.json``;
a test keeps that file equal to :func:`issue_schema` (regenerate it with
``python -m newsletter.model.schema > newsletter/data/issue.schema.json``).
"""

from __future__ import annotations

import datetime as dt
import json
import types
from importlib.resources import files
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from newsletter.model.base import REQUIRED, FieldInfo, Model, models_under
from newsletter.model.issue import Issue

__all__ = ["SCHEMA_NAME", "dumps", "issue_schema", "shipped_schema"]

#: The file name of the schema, in the package and beside a workspace's issues.
SCHEMA_NAME = "issue.schema.json"


def issue_schema() -> dict[str, Any]:
    """The schema of an issue file as editors write it.

    Two differences from the model's own: ``slug`` is optional (the loader takes the file
    name), and an optional field is of its type, not "or null", since an empty value is
    what the loader warns about.
    """
    schema = model_schema(Issue)
    schema["required"] = [name for name in schema["required"] if name != "slug"]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "newsletter issue"
    schema["description"] = (
        "One issue of the newsletter: a lead story and a row of teasers. "
        "See 'The issue file' in the newsletter README."
    )
    cleaned: dict[str, Any] = _without_null(schema)
    return cleaned


def model_schema(model: type[Model]) -> dict[str, Any]:
    """The JSON Schema (2020-12) of ``model``, its nested models under ``$defs``: the schema
    pydantic wrote for these models when it was their library (keys sorted, a title per
    field, ``null`` for optional fields), so the shipped file stayed the same."""
    schema = _object(model)
    nested = sorted((m for m in models_under(model) if m is not model), key=lambda m: m.__name__)
    if nested:
        schema["$defs"] = {m.__name__: _object(m) for m in nested}
    return dict(sorted(schema.items()))


def _object(model: type[Model]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "additionalProperties": False,
        "properties": {name: _field(name, info) for name, info in model.model_fields.items()},
        "required": [name for name, info in model.model_fields.items() if info.required],
        "title": model.__name__,
        "type": "object",
    }
    if model.__doc__:
        schema["description"] = model.__doc__.strip()
    return dict(sorted(schema.items()))


def _field(name: str, info: FieldInfo) -> dict[str, Any]:
    node = _type(info.annotation, info)
    if not any("$ref" in option for option in node.get("anyOf", [node])):  # a model has its own
        node["title"] = name.replace("_", " ").title()
    if info.description:
        node["description"] = info.description
    if info.default is not REQUIRED and info.default_factory is None:
        node["default"] = info.default
    return dict(sorted(node.items()))


_JSON_TYPES: dict[Any, dict[str, str]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    dt.date: {"format": "date", "type": "string"},
}
_CONSTRAINTS = {
    "gt": "exclusiveMinimum",
    "ge": "minimum",
    "le": "maximum",
    "min_length": "minLength",
    "pattern": "pattern",
}


def _type(annotation: Any, info: FieldInfo | None = None) -> dict[str, Any]:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        inner, *meta = args
        node = _type(inner, info)
        for source in [m for m in meta if isinstance(m, FieldInfo)]:
            node.update({_CONSTRAINTS[k]: v for k, v in source.constraints().items()})
        return dict(sorted(node.items()))
    if origin in (Union, types.UnionType):
        return {"anyOf": [_type(arg, None if arg is type(None) else info) for arg in args]}
    if isinstance(annotation, type) and issubclass(annotation, Model):
        return {"$ref": f"#/$defs/{annotation.__name__}"}
    if origin is list:
        return {"items": _type(args[0]), "type": "array"}
    if origin is dict:
        return {"additionalProperties": _type(args[1]), "type": "object"}
    if origin is Literal:
        return {"enum": list(args)}
    node = dict(_JSON_TYPES[annotation])
    if info is not None:
        node.update({_CONSTRAINTS[k]: v for k, v in info.constraints().items()})
    return dict(sorted(node.items()))


def _without_null(node: Any) -> Any:
    if isinstance(node, dict):
        options = node.get("anyOf")
        if isinstance(options, list):
            kept = [option for option in options if option != {"type": "null"}]
            if len(kept) == 1 and len(kept) < len(options):
                node = {**{k: v for k, v in node.items() if k != "anyOf"}, **kept[0]}
                node.pop("default", None)
        return {key: _without_null(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_without_null(item) for item in node]
    return node


def shipped_schema() -> str:
    """The schema file the package ships, as text."""
    return files("newsletter").joinpath("data", SCHEMA_NAME).read_text(encoding="utf-8")


def dumps(schema: dict[str, Any]) -> str:
    """The schema as the shipped file writes it."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(dumps(issue_schema()), end="")
