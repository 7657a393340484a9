#!/usr/bin/env python3
"""Validates a Grafana dashboard JSON file against the schema of the grafana-foundation-sdk package.

The PyPI package ships no JSON Schema file: it ships the dashboard schema as typed Python models
generated from Grafana's own schema (`grafana_foundation_sdk.models.dashboard` and one module per
panel type and data source), each with `from_json`/`to_json`. So this checks the file through them:

1. Decode: `Dashboard.from_json` with the SDK's default plugins registered, so each panel's
   `options` and `fieldConfig.defaults.custom` are decoded by its panel type's models and each
   target by its data source's query model (a panel type or query the SDK does not know is an error).
2. No unknown keys: re-encode the decoded models with the SDK's JSON encoder; every key and value of
   the file must come back unchanged (a key the schema does not define is dropped by the models).
3. Types: every attribute of every decoded model must match its type annotation (str, int, float,
   bool, Literal values, enums, lists, nested models); parts a model keeps as plain JSON (panel links,
   transformations) are decoded with the model their annotation names and checked the same way;
   rows may only nest panels, not rows.

Prints one line per violation and exits 1 if there is any, else prints a summary and exits 0.
Usage: validate_dashboard.py DASHBOARD.json
"""

import enum
import json
import sys
import types
import typing

from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models import dashboard as dashboard_models

errors: list[str] = []


def compare(original: typing.Any, encoded: typing.Any, path: str) -> None:
    """Reports what of `original` did not survive decoding and re-encoding."""
    if isinstance(original, dict):
        if not isinstance(encoded, dict):
            errors.append(f"{path}: an object became {type(encoded).__name__}")
            return
        for key, value in original.items():
            if key not in encoded:
                errors.append(f"{path}.{key}: not defined by the schema")
            else:
                compare(value, encoded[key], f"{path}.{key}")
    elif isinstance(original, list):
        if not isinstance(encoded, list) or len(encoded) != len(original):
            errors.append(f"{path}: a list of {len(original)} did not come back whole")
            return
        for index, (value, back) in enumerate(zip(original, encoded)):
            compare(value, back, f"{path}[{index}]")
    elif original != encoded or type(original) is not type(encoded) and not _same_number(original, encoded):
        errors.append(f"{path}: {original!r} came back as {encoded!r}")


def _same_number(a: typing.Any, b: typing.Any) -> bool:
    numbers = (int, float)
    return isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and a == b


def conforms(value: typing.Any, hint: typing.Any, path: str) -> bool:
    """Whether `value` matches the annotation `hint`; reports nested violations itself."""
    if hint is typing.Any or hint is object:
        # Panel options and custom field config are typed `object` but decoded by the panel type's model.
        if hasattr(value, "to_json") and not isinstance(value, cogruntime.UnknownDataquery):
            walk(value, path)
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        options = typing.get_args(hint)
        if value is None:
            return type(None) in options
        # The first option of the value's own kind decides (nested violations are reported under it).
        for option in options:
            if option is not type(None) and shallow(value, option):
                return conforms(value, option, path)
        return False
    if origin is typing.Literal:
        return value in typing.get_args(hint) and type(value) in {type(a) for a in typing.get_args(hint)}
    if origin is list:
        if not isinstance(value, list):
            return False
        (item,) = typing.get_args(hint) or (typing.Any,)
        for index, element in enumerate(value):
            check(element, item, f"{path}[{index}]")
        return True
    if origin is dict:
        if not isinstance(value, dict):
            return False
        key_hint, value_hint = typing.get_args(hint) or (typing.Any, typing.Any)
        for key, element in value.items():
            check(key, key_hint, f"{path}.{key}")
            check(element, value_hint, f"{path}.{key}")
        return True
    if hint is type(None):
        return value is None
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return isinstance(value, hint) or value in {member.value for member in hint}
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if isinstance(hint, type) and isinstance(value, dict) and hasattr(hint, "from_json"):
        # Some models keep a part as plain JSON (panel links, transformations): decode it with its model.
        decoded = hint.from_json(value)
        compare(value, json.loads(json.dumps(decoded, cls=JSONEncoder)), path)
        walk(decoded, path)
        return True
    if isinstance(hint, type):
        if not isinstance(value, hint):
            return False
        if isinstance(value, cogruntime.UnknownDataquery):
            errors.append(f"{path}: a query of a data source the SDK does not know: {value.data}")
        elif hasattr(value, "to_json"):
            walk(value, path)
        return True
    return True


def shallow(value: typing.Any, hint: typing.Any) -> bool:
    """Whether `value` is of the kind `hint` names, without looking inside it."""
    origin = typing.get_origin(hint) or hint
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if origin in (list, dict):
        return isinstance(value, origin)
    if origin is typing.Any or origin is object:
        return True
    if isinstance(origin, type) and issubclass(origin, enum.Enum):
        return isinstance(value, origin) or value in {member.value for member in origin}
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(origin, type) and isinstance(value, dict) and hasattr(origin, "from_json"):
        return True
    return isinstance(origin, type) and isinstance(value, origin)


def check(value: typing.Any, hint: typing.Any, path: str) -> None:
    if not conforms(value, hint, path):
        errors.append(f"{path}: {value!r} is not {_name(hint)}")


def _name(hint: typing.Any) -> str:
    if typing.get_origin(hint) is None and hasattr(hint, "__name__"):
        return hint.__name__
    return str(hint).replace("typing.", "")


def walk(model: typing.Any, path: str) -> None:
    """Checks every annotated attribute of a decoded model against its annotation."""
    hints = typing.get_type_hints(type(model))
    for attribute, hint in hints.items():
        if hasattr(model, attribute):
            check(getattr(model, attribute), hint, f"{path}.{attribute}")


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as file:
        document = json.load(file)
    register_default_plugins()
    try:
        model = dashboard_models.Dashboard.from_json(document)
    except Exception as error:  # the models raise whatever a malformed part makes them raise
        print(f"$: does not decode as a Grafana dashboard: {type(error).__name__}: {error}")
        return 1
    encoded = json.loads(json.dumps(model, cls=JSONEncoder))
    compare(document, encoded, "$")
    walk(model, "$")
    panels = 0
    for index, panel in enumerate(model.panels or []):
        panels += 1
        where = f"$.panels[{index}]"
        if isinstance(panel, dashboard_models.RowPanel):
            for inner, nested in enumerate(panel.panels or []):
                panels += 1
                if not isinstance(nested, dashboard_models.Panel):
                    errors.append(f"{where}.panels[{inner}]: a row inside a row")
                elif cogruntime.panelcfg_config(nested.type_val) is None:
                    errors.append(f"{where}.panels[{inner}]: unknown panel type {nested.type_val!r}")
        elif cogruntime.panelcfg_config(panel.type_val) is None:
            errors.append(f"{where}: unknown panel type {panel.type_val!r}")
        elif isinstance(panel, dashboard_models.Panel):
            for target, query in enumerate(panel.targets or []):
                if not isinstance(query, cogvariants.Dataquery):
                    errors.append(f"{where}.targets[{target}]: not a data source query")
    for error in errors:
        print(error)
    if errors:
        return 1
    print(f"ok: {sys.argv[1]} matches the grafana-foundation-sdk dashboard schema ({panels} panels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
