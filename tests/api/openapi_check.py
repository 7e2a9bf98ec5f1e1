"""Checks an answer of the token service API against `portal/api/openapi.json`: its status is documented for
that path and method, and its JSON body validates against the documented schema.

OpenAPI 3.1 schemas are JSON Schema 2020-12. `jsonschema` (tests/requirements.txt) validates them when it
is installed; otherwise a small validator covers the keywords the document uses, and refuses a schema with
any other keyword, so a document that outgrows it fails here instead of passing unchecked.
"""

import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCUMENT = os.path.join(ROOT, "portal", "api", "openapi.json")
KNOWN_KEYWORDS = frozenset({"$ref", "type", "required", "properties", "additionalProperties", "enum", "minLength",
                            "maxLength", "minimum", "description"})
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def load_document():
    with open(DOCUMENT, encoding="utf-8") as fh:
        return json.load(fh)


def node_path(ref):
    assert ref.startswith("#/"), ref
    return ref[2:].split("/")


def _deref(document, node):
    while isinstance(node, dict) and "$ref" in node:
        target = document
        for part in node_path(node["$ref"]):
            target = target[part]
        node = target
    return node


def response_schema(document, template, method, status):
    operation = document["paths"][template][method.lower()]
    documented = operation["responses"]
    assert str(status) in documented, f"{method} {template} answered {status}, not documented"
    response = _deref(document, documented[str(status)])
    return response["content"]["application/json"]["schema"]


def errors_of(document, schema, value, where="body"):
    """The list of reasons `value` does not match `schema` (empty when it does)."""
    try:
        import jsonschema
    except ImportError:
        return _mini_errors(document, schema, value, where)
    # the document is the root, so the schema's "#/components/..." references resolve; the document's own
    # keys (openapi, paths, ...) are no JSON Schema keywords and are ignored
    validator = jsonschema.Draft202012Validator({**document, **schema})
    return [f"{where}: {e.message}" for e in validator.iter_errors(value)]


def _mini_errors(document, schema, value, where):
    schema = _deref(document, schema)
    unknown = set(schema) - KNOWN_KEYWORDS
    assert not unknown, f"the fallback validator does not know {sorted(unknown)}: install jsonschema"
    kind = schema.get("type")
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{where}: {value!r} is not an integer"]
    elif kind is not None and (not isinstance(value, TYPES[kind]) or (kind != "boolean" and isinstance(value, bool))):
        return [f"{where}: {value!r} is not of type {kind}"]
    found = []
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            found.append(f"{where}: length {len(value)} out of bounds")
    if isinstance(value, int) and "minimum" in schema and value < schema["minimum"]:
        found.append(f"{where}: {value} < {schema['minimum']}")
    if isinstance(value, dict):
        found += [f"{where}: {name} is required" for name in schema.get("required", ()) if name not in value]
        properties = schema.get("properties", {})
        for name, item in value.items():
            if name in properties:
                found += _mini_errors(document, properties[name], item, f"{where}.{name}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{where}: unexpected property {name}")
    return found


def check(response, template, method="GET"):
    """Assert that a test-client or requests response matches the document; returns its JSON body."""
    document = load_document()
    status = response.status_code
    body = response.get_json() if hasattr(response, "get_json") else response.json()
    content_type = response.headers.get("Content-Type", "")
    assert content_type.startswith("application/json"), content_type
    problems = errors_of(document, response_schema(document, template, method, status), body)
    assert problems == [], problems
    return body
