"""The JSON Schema of the issue format, made from the model so the two never disagree.

Editors' editors (VS Code with the YAML extension, any yaml-language-server client) read it
through the ``# yaml-language-server: $schema=...`` line of the ``new`` skeleton, and then
complete field names, show each field's description and underline a misspelt or misplaced
field while the editor types. The package ships it as ``newsletter/data/issue.schema.json``;
a test keeps that file equal to :func:`issue_schema` (regenerate it with
``python -m newsletter.model.schema > newsletter/data/issue.schema.json``).
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

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
    schema = Issue.model_json_schema()
    schema["required"] = [name for name in schema["required"] if name != "slug"]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "newsletter issue"
    schema["description"] = (
        "One issue of the newsletter: a lead story and a row of teasers. "
        "See 'The issue file' in the newsletter README."
    )
    cleaned: dict[str, Any] = _without_null(schema)
    return cleaned


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
