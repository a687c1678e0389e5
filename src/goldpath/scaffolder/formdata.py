"""Answers into form fields and submitted forms back into answers.

Empty inputs leave an answer out (as react-jsonschema-form does); typed inputs are converted
with the same ``coerce_value`` the CLI uses, and anything that does not convert is kept as
typed so the scaffolder's validation reports it against its field. A secret's value is never
put back into a field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from goldpath.scaffolder.forms import FormField, show
from goldpath.scaffolder.parameters import coerce_value
from goldpath.scaffolder.pickers import Option, compose_repo_url, split_repo_url


class FormLike(Protocol):
    def getlist(self, key: str) -> list[Any]: ...


# ------------------------------------------------------------------ answers → fields
def fill(
    fields: list[FormField],
    values: Mapping[str, Any],
    secrets: Mapping[str, Any],
    errors: Mapping[str, str],
) -> list[str]:
    """Put the answers (never a secret's value) and errors on the fields; returns the errors
    no field on this page can show."""
    unplaced = dict(errors)
    every = [f for top in fields for f in top.walk()]
    for name in sorted(errors, key=len, reverse=True):
        target = _owner_of(name, every)
        if target is not None:
            target.error = target.error or _explained(target, unplaced.pop(name))
    for f in every:
        value = get_path(values, f.name)
        if f.kind == "password":
            f.kept_secret = f.name in secrets or value is not None
        elif f.kind in ("select", "radio", "checkboxes"):
            chosen = value if isinstance(value, list) and f.kind == "checkboxes" else [value]
            f.selected = {show(v) for v in chosen if v is not None}
        elif f.kind == "checkbox":
            f.checked = value is True
        elif f.kind == "repo":
            f.parts = split_repo_url(value)
        elif f.kind == "lines":
            items = value if isinstance(value, list) else [] if value is None else [value]
            f.text = "\n".join(show(v) for v in items)
        elif f.kind == "json":
            f.text = (
                ""
                if value is None
                else show(value)
                if isinstance(value, str)
                else (json.dumps(value, indent=2))
            )
        elif f.kind != "object":
            f.text = "" if value is None else show(value)
        if f.kind in ("owner", "entity") and f.text and f.text not in {o.value for o in f.options}:
            f.options = [Option(f.text, f.text), *f.options]  # keep an answer not listed
    return [f"{name}: {message}" for name, message in unplaced.items()]


def _explained(f: FormField, message: str) -> str:
    """A pattern nobody can read explained by the field's own words: its ``ui:help`` (which
    validation already adds) or else its description."""
    if message.startswith("must match ") and not f.help and f.description:
        return f"{message} ({f.description})"
    return message


def _owner_of(path: str, fields: list[FormField]) -> FormField | None:
    """The deepest field whose answer holds ``path`` (``regions.1`` → ``regions``)."""
    best: FormField | None = None
    for f in fields:
        if (path == f.name or path.startswith(f.name + ".")) and (
            best is None or len(f.name) > len(best.name)
        ):
            best = f
    return best


# ------------------------------------------------------------------ form → answers
def read(
    fields: list[FormField], form: FormLike, values: dict[str, Any], secrets: dict[str, Any]
) -> dict[str, str]:
    """Update ``values``/``secrets`` from a submitted page; returns problems a field's own
    input has (incomplete repository location, JSON that does not parse) by field."""
    problems: dict[str, str] = {}
    for top in fields:
        for f in top.walk():
            if f.kind != "object":
                _read_one(f, form, values, secrets, problems)
    return problems


def _read_one(
    f: FormField,
    form: FormLike,
    values: dict[str, Any],
    secrets: dict[str, Any],
    problems: dict[str, str],
) -> None:
    texts = [t for t in form.getlist(f.name) if isinstance(t, str)]
    text = texts[-1].replace("\r\n", "\n") if texts else ""
    value: Any = None
    if f.kind == "password":
        if text:  # left empty: keep what was entered before
            if "." in f.name:
                set_path(values, f.name, text)
            else:
                secrets[f.name] = text
                values.pop(f.name, None)
        return
    if f.kind == "checkbox":
        value = "true" in texts
    elif f.kind == "checkboxes":
        items = f.schema.get("items") if isinstance(f.schema.get("items"), Mapping) else None
        value = [coerce_value(items, t) for t in texts if t]
    elif f.kind == "lines":
        items = f.schema.get("items") if isinstance(f.schema.get("items"), Mapping) else None
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        value = [coerce_value(items, line) for line in lines] or None
    elif f.kind == "json" and text.strip():
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            problems[f.name] = f"is not valid JSON ({exc.msg} at line {exc.lineno})"
            value = text
    elif f.kind == "repo":
        value = _read_repo(f, form, problems)
    elif f.kind in ("number", "select", "radio", "hidden"):
        value = coerce_value(f.schema, text.strip()) if text.strip() else None
    elif f.kind in ("owner", "entity"):
        value = text.strip() or None
    elif text:
        value = text
    if value is None:
        unset_path(values, f.name)
    else:
        set_path(values, f.name, value)


def _read_repo(f: FormField, form: FormLike, problems: dict[str, str]) -> str | None:
    def one(part: str) -> str:
        texts = [t for t in form.getlist(f"{f.name}.{part}") if isinstance(t, str)]
        return texts[-1].strip() if texts else ""

    host, owner, repo = one("host"), one("owner"), one("repo")
    if not owner and not repo:
        return None
    allowed = [h.value for h in f.hosts]
    if host not in allowed:
        problems[f.name] = "must be on one of the allowed hosts: " + ", ".join(allowed)
    elif not owner or not repo:
        problems[f.name] = "is incomplete: give both an owner and a repository name"
    return compose_repo_url(host, owner, repo)


# ------------------------------------------------------------------ dotted paths
def get_path(values: Mapping[str, Any], dotted: str) -> Any:
    current: Any = values
    for part in dotted.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def set_path(values: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    current = values
    for part in parents:
        nested = current.get(part)
        if not isinstance(nested, dict):
            nested = current[part] = {}
        current = nested
    current[last] = value


def unset_path(values: dict[str, Any], dotted: str) -> None:
    *parents, last = dotted.split(".")
    chain = [values]
    for part in parents:
        nested = chain[-1].get(part)
        if not isinstance(nested, dict):
            return
        chain.append(nested)
    chain[-1].pop(last, None)
    for depth in range(len(parents), 0, -1):  # an emptied object goes too
        if not chain[depth]:
            chain[depth - 1].pop(parents[depth - 1], None)
