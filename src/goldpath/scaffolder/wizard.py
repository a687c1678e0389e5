"""The create form between requests: the sealed draft of answers, which pages show, each
page's problems (from the scaffolder's own validation) and the review of every answer.

The answers entered so far travel with the form as one hidden field, sealed with the
scaffolder's secrets key (the same Fernet box that protects task secrets): a secret typed on
one page reaches the task without ever being written into a page, and any portal replica
sharing the key can carry the form on.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from goldpath.core.errors import GoldpathError, InputError
from goldpath.scaffolder.formdata import get_path
from goldpath.scaffolder.forms import FormField, enum_options, page_fields, show
from goldpath.scaffolder.model import DEFAULT_PAGE_TITLE, TemplateSpec
from goldpath.scaffolder.parameters import (
    ROOT_FIELD,
    apply_defaults,
    page_visible,
    secret_fields,
    validate_values,
)
from goldpath.scaffolder.pickers import CatalogLookup, split_repo_url
from goldpath.scaffolder.secretbox import SecretBox

#: A form left open longer than this starts again (its sealed answers are refused).
DRAFT_MAX_AGE_SECONDS = 24 * 3600
#: What a secret looks like on the review page, whatever its length.
MASK = "••••••••"


@dataclass
class Draft:
    values: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict)


def seal_draft(box: SecretBox, template_ref: str, draft: Draft) -> str:
    return box.seal(
        {"t": template_ref, "at": int(time.time()), "v": draft.values, "s": draft.secrets}
    )


def open_draft(box: SecretBox, template_ref: str, token: str | None) -> Draft:
    """The answers a submitted form carries; an empty draft for a form's first submit."""
    if not token:
        return Draft()
    try:
        sealed = box.open(token)
    except GoldpathError as exc:
        raise InputError(
            "this form's saved answers can no longer be read (the portal's key changed, or "
            "they were altered); please start again",
            where="_draft",
        ) from exc
    if sealed.get("t") != template_ref:
        raise InputError("these answers belong to another template; start again", where="_draft")
    if time.time() - float(sealed.get("at") or 0) > DRAFT_MAX_AGE_SECONDS:
        raise InputError("this form was left open for over a day; start again", where="_draft")
    values, secrets = sealed.get("v"), sealed.get("s")
    return Draft(
        dict(values) if isinstance(values, dict) else {},
        dict(secrets) if isinstance(secrets, dict) else {},
    )


def initial_draft(spec: TemplateSpec) -> Draft:
    """The form's first answers: every default, as the form shows them."""
    values = apply_defaults(spec, {})
    secrets = {k: values.pop(k) for k in secret_fields(spec) if k in values}
    return Draft(values, secrets)


def answers(spec: TemplateSpec, draft: Draft) -> dict[str, Any]:
    """What validation sees: the answers, secrets included, with defaults filled in."""
    return apply_defaults(spec, {**draft.values, **draft.secrets})


def shown_values(spec: TemplateSpec, draft: Draft) -> dict[str, Any]:
    """The answers as the form shows them: defaults filled in (a page that a later answer
    reveals shows its defaults too), secrets left out."""
    filled = apply_defaults(spec, draft.values)
    return {k: v for k, v in filled.items() if k not in draft.secrets}


def visible_pages(spec: TemplateSpec, draft: Draft) -> list[int]:
    current = answers(spec, draft)
    return [i for i, page in enumerate(spec.parameters) if page_visible(page, current)]


def problems(spec: TemplateSpec, draft: Draft) -> dict[int, dict[str, str]]:
    """The scaffolder's validation of all the answers, by page index (-1: not a page's)."""
    found: dict[int, dict[str, str]] = {}
    for error in validate_values(spec, answers(spec, draft)):
        page = error.page if error.page is not None else -1
        found.setdefault(page, {})[error.field] = error.message
    return found


def task_values(spec: TemplateSpec, draft: Draft) -> dict[str, Any]:
    """The answers a task gets: those a page that is shown asks for (an answer to a page a
    later choice hid is dropped), never a secret."""
    shown = set(visible_pages(spec, draft))
    asked_shown: set[str] = set()
    asked_hidden: set[str] = set()
    for index, page in enumerate(spec.parameters):
        names = _page_names(page.schema_)
        (asked_shown if index in shown else asked_hidden).update(names)
    return {
        k: v
        for k, v in draft.values.items()
        if k not in draft.secrets and (k in asked_shown or k not in asked_hidden)
    }


def _page_names(schema: Mapping[str, Any]) -> set[str]:
    return {f.name for f in page_fields(schema, CatalogLookup(None))}


def page_title(spec: TemplateSpec, index: int) -> str:
    return spec.parameters[index].title or DEFAULT_PAGE_TITLE


# ------------------------------------------------------------------ review
@dataclass
class ReviewRow:
    name: str
    label: str
    text: str
    given: bool = True
    secret: bool = False


@dataclass
class ReviewPage:
    index: int
    title: str
    rows: list[ReviewRow]


def review(spec: TemplateSpec, draft: Draft, lookup: CatalogLookup) -> list[ReviewPage]:
    """Every answer the task will get, page by page; secrets (and fields a template asks to
    mask with ``ui:backstage.review.mask``) masked, ``review.show: false`` fields left out."""
    current = answers(spec, draft)
    pages = []
    for index in visible_pages(spec, draft):
        rows: list[ReviewRow] = []
        for f in page_fields(spec.parameters[index].schema_, lookup):
            _rows(f, current, rows, "")
        pages.append(ReviewPage(index, page_title(spec, index), rows))
    return pages


def _rows(f: FormField, current: Mapping[str, Any], rows: list[ReviewRow], prefix: str) -> None:
    options = f.schema.get("ui:backstage")
    shown = options.get("review") if isinstance(options, Mapping) else None
    shown = shown if isinstance(shown, Mapping) else {}
    if shown.get("show") is False or f.kind == "hidden":
        return
    label = prefix + f.title
    if f.kind == "object" and f.children:
        for child in f.children:
            _rows(child, current, rows, label + " › ")
        return
    value = get_path(current, f.name)
    if value is None or value == "" or value == []:
        rows.append(ReviewRow(f.name, label, "not given", given=False, secret=f.secret))
    elif f.secret or shown.get("mask"):
        mask = shown.get("mask")
        rows.append(ReviewRow(f.name, label, mask if isinstance(mask, str) else MASK, True, True))
    else:
        rows.append(ReviewRow(f.name, label, display(f, value)))


def display(f: FormField, value: Any) -> str:
    """An answer as a person reads it: choices by their titles, pickers by their names."""
    if f.kind in ("select", "radio", "owner", "entity"):
        labels = {o.value: o.label for o in (f.options or enum_options(f.schema))}
        text = show(value)
        return (
            labels.get(text, text)
            if f.kind in ("select", "radio")
            else (f"{labels[text]} · {text}" if text in labels else text)
        )
    if f.kind == "checkboxes" and isinstance(value, list):
        labels = {o.value: o.label for o in f.options}
        return ", ".join(labels.get(show(v), show(v)) for v in value)
    if f.kind == "checkbox":
        return "Yes" if value is True else "No"
    if f.kind == "lines" and isinstance(value, list):
        return ", ".join(show(v) for v in value)
    if f.kind == "repo":
        parts = split_repo_url(value)
        return f"{parts['owner']}/{parts['repo']} on {parts['host']}"
    return show(value)


def unplaced(errors: Mapping[int, Mapping[str, str]]) -> list[str]:
    """Problems that belong to no page (e.g. about the answers as a whole)."""
    return [
        message if field_name == ROOT_FIELD else f"{field_name}: {message}"
        for field_name, message in errors.get(-1, {}).items()
    ]
