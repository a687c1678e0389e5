"""Validation of one entity against Backstage's rules, reporting every problem at once.

What Backstage's catalog checks, and so what is checked here:

- the envelope and metadata shapes (``Entity``/``EntityMeta`` JSON schemas), the root fields
  (``NoForeignRootFieldsEntityPolicy``) and the field formats (``FieldFormatEntityPolicy``
  with ``makeValidator()``'s defaults: Kubernetes-style names, labels and annotation keys,
  tags of ``[a-z0-9:+#]`` separated by ``-``, links whose url parses as a URL);
- the spec of each built-in kind (``kinds/*.schema.json`` and the scaffolder's
  ``Template.v1beta3.schema.json``), for the apiVersions listed in :mod:`.model`.

Backstage stops at the first problem; here every one is collected, so a descriptor can be
fixed in one go. The checks are hand-written rather than run through a JSON-schema engine:
this runs for every entity of every refresh.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from goldpath.catalog import model


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with an entity: where (``spec.targets[2]``) and what, for a human."""

    path: str
    message: str


class _Missing:
    """A field that is absent, as opposed to present with a null value."""


_MISSING: Any = _Missing()

Problems = list[FieldProblem]
Check = Callable[[str, Any, Problems], None]

# fullmatch everywhere: JavaScript's `$` does not match before a trailing newline, Python's does.
_OBJECT_NAME = re.compile(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_LABEL = re.compile(r"[a-z0-9]+(?:-+[a-z0-9]+)*")
_TAG = re.compile(r"[a-z0-9:+#]+(?:-[a-z0-9:+#]+)*")
_KIND = re.compile(r"[a-zA-Z][a-z0-9A-Z]*")
_VERSION = re.compile(r"[a-z0-9A-Z]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")

_NAME_RULE = "at most 63 characters: sequences of [a-zA-Z0-9] separated by any of [-_.]"
_EXPECT_NAME = f"a string of {_NAME_RULE}"
_EXPECT_NAMESPACE = "a string of at most 63 characters: sequences of [a-z0-9] separated by [-]"
_EXPECT_TAG = "a string of at most 63 characters: sequences of [a-z0-9:+#] separated by one [-]"
_EXPECT_KIND = "a letter followed by letters and digits, at most 63 characters (e.g. Component)"
_EXPECT_API_VERSION = (
    "<group>/<version>, a lowercase DNS name and letters/digits (e.g. backstage.io/v1alpha1)"
)
_EXPECT_KEY = (
    "an optional lowercase DNS-name prefix and a slash, then a name of "
    f"{_NAME_RULE} (e.g. example.com/team)"
)
_EXPECT_LABEL_VALUE = f"an empty string or a string of {_NAME_RULE}"
_EXPECT_URL = "an absolute URL (e.g. https://example.com/page)"


# ------------------------------------------------------------------ format predicates
def _is_object_name(value: str) -> bool:
    return len(value) <= 63 and _OBJECT_NAME.fullmatch(value) is not None


def _is_dns_label(value: str) -> bool:
    return len(value) <= 63 and _DNS_LABEL.fullmatch(value) is not None


def _is_dns_subdomain(value: str) -> bool:
    return 1 <= len(value) <= 253 and all(_is_dns_label(p) for p in value.split("."))


@lru_cache(maxsize=8192)
def _is_prefixed_name(value: str) -> bool:
    """Label and annotation keys: ``[<dns-subdomain>/]<object-name>``."""
    parts = value.split("/")
    if len(parts) == 1:
        return _is_object_name(value)
    return len(parts) == 2 and _is_dns_subdomain(parts[0]) and _is_object_name(parts[1])


@lru_cache(maxsize=256)
def _is_api_version(value: str) -> bool:
    parts = value.split("/")
    version = parts[-1]
    if len(parts) > 2 or not (len(version) <= 63 and _VERSION.fullmatch(version)):
        return False
    return len(parts) == 1 or _is_dns_subdomain(parts[0])


_SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})
_C0_OR_SPACE = "".join(chr(c) for c in range(0x21))
_FORBIDDEN_HOST = frozenset(" #/:<>?@[\\]^|\x7f") | set(_C0_OR_SPACE[:0x20])
_FORBIDDEN_DOMAIN = _FORBIDDEN_HOST | {"%"}
_TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")


@lru_cache(maxsize=4096)
def is_valid_url(value: str) -> bool:
    """Whether ``new URL(value)`` succeeds in JavaScript, as Backstage checks link urls.

    Follows the WHATWG URL parser for what matters here: a scheme is required, and the
    web schemes need a usable host and port; other schemes (``mailto:``, ``slack:``...) take
    almost anything.
    """
    text = value.strip(_C0_OR_SPACE).translate(_TAB_OR_NEWLINE)
    scheme, colon, rest = text.partition(":")
    if not colon or not _SCHEME.fullmatch(scheme):
        return False
    scheme = scheme.lower()
    if scheme == "file":
        return True
    if scheme not in _SPECIAL_SCHEMES:
        if not rest.startswith("//"):
            return True
        return _authority_ok(rest[2:], host_required=False)
    return _authority_ok(rest.lstrip("/\\"), host_required=True)


def _authority_ok(rest: str, *, host_required: bool) -> bool:
    end = len(rest)
    # Only the web schemes read a backslash as a slash.
    for stop in "/?#\\" if host_required else "/?#":
        at = rest.find(stop)
        if at != -1 and at < end:
            end = at
    userinfo, at_sign, authority = rest[:end].rpartition("@")
    if authority.startswith("["):
        host, bracket, after = authority.partition("]")
        if not bracket or "%" in host or not _is_ipv6(host[1:]):
            return False
        host, port = host + "]", after.removeprefix(":")
        if after and not after.startswith(":"):
            return False
    else:
        host, _, port = authority.partition(":")
    if port and not (port.isascii() and port.isdigit() and int(port) <= 65535):
        return False
    if not host:
        # No host at all is fine for other schemes, but not once a user or port is given.
        return not host_required and not at_sign and ":" not in authority
    if host.startswith("["):
        return True
    # Web hosts are percent-decoded before the check; other schemes keep an opaque host.
    if host_required:
        domain = unquote(host)
        return not any(c in _FORBIDDEN_DOMAIN for c in domain) and _ipv4_ok(domain)
    return not any(c in _FORBIDDEN_HOST for c in host)


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _ipv4_ok(domain: str) -> bool:
    """A web host whose last label is a number must be a whole IPv4 address (WHATWG)."""
    labels = domain.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels.pop()
    last_label = labels[-1]
    numbers = [_ipv4_number(label) for label in labels]
    if numbers[-1] is None and not (last_label.isascii() and last_label.isdigit()):
        return True  # a domain name, not an address
    if len(numbers) > 4:
        return False
    parts = [n for n in numbers if n is not None]
    if len(parts) != len(numbers):
        return False
    *head, last = parts
    return all(n <= 255 for n in head) and last < 256 ** (5 - len(parts))


_DIGITS = {
    10: frozenset("0123456789"),
    16: frozenset("0123456789abcdefABCDEF"),
    8: frozenset("01234567"),
}


def _ipv4_number(label: str) -> int | None:
    """One IPv4 part as WHATWG reads it (``0x`` hex, leading-zero octal), or None."""
    if label == "":
        return None
    base = 10
    if label[:2].lower() == "0x":
        label, base = label[2:], 16
    elif len(label) > 1 and label.startswith("0"):
        label, base = label[1:], 8
    if label == "":
        return 0
    # int() alone would also take "_" separators and a second "0x".
    return int(label, base) if all(c in _DIGITS[base] for c in label) else None


# ------------------------------------------------------------------ messages
def _show(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _a(value: Any) -> str:
    """What a value is, in JSON's words: ``a number (3)``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({_show(value)})"
    if isinstance(value, int | float):
        return f"a number ({_show(value)})"
    if isinstance(value, str):
        return f"a string ({_show(value)})" if value else "an empty string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _invalid(path: str, value: Any, expected: str) -> FieldProblem:
    return FieldProblem(path, f"{path} {_show(value)} is not valid; expected {expected}")


def _wrong_type(path: str, value: Any, expected: str) -> FieldProblem:
    return FieldProblem(path, f"{path} must be {expected}, found {_a(value)}")


# ------------------------------------------------------------------ value checks
def _text(path: str, value: Any, problems: Problems) -> None:
    """A non-empty string (JSON schema ``type: string, minLength: 1``)."""
    if type(value) is not str or not value:
        problems.append(_wrong_type(path, value, "a non-empty string"))


def _any_text(path: str, value: Any, problems: Problems) -> None:
    if type(value) is not str:
        problems.append(_wrong_type(path, value, "a string"))


def _object(path: str, value: Any, problems: Problems) -> None:
    if not isinstance(value, dict):
        problems.append(_wrong_type(path, value, "an object"))


def _texts(path: str, value: Any, problems: Problems) -> None:
    """A list of non-empty strings: how every list of entity refs is declared."""
    if not isinstance(value, list):
        problems.append(_wrong_type(path, value, "a list of strings"))
        return
    for i, item in enumerate(value):
        if type(item) is not str or not item:
            problems.append(_wrong_type(f"{path}[{i}]", item, "a non-empty string"))


def _condition(path: str, value: Any, problems: Problems) -> None:
    if type(value) is not str and type(value) is not bool:
        problems.append(_wrong_type(path, value, "a string or a boolean"))


def _fields(shape: dict[str, Check]) -> Check:
    """An object whose listed properties, where present, pass their checks."""

    def check(path: str, value: Any, problems: Problems) -> None:
        if not isinstance(value, dict):
            problems.append(_wrong_type(path, value, "an object"))
            return
        for key, sub in shape.items():
            if key in value:
                sub(f"{path}.{key}", value[key], problems)

    return check


def _list_of(item_check: Check) -> Check:
    def check(path: str, value: Any, problems: Problems) -> None:
        if not isinstance(value, list):
            problems.append(_wrong_type(path, value, "a list"))
            return
        for i, item in enumerate(value):
            item_check(f"{path}[{i}]", item, problems)

    return check


def _one_of(*allowed: str) -> Check:
    def check(path: str, value: Any, problems: Problems) -> None:
        if value not in allowed or type(value) is not str:
            wanted = " or ".join(_show(a) for a in allowed)
            problems.append(FieldProblem(path, f"{path} must be {wanted}, found {_a(value)}"))

    return check


_PLACEHOLDERS = frozenset({"$text", "$json", "$yaml"})


def _definition(path: str, value: Any, problems: Problems) -> None:
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _PLACEHOLDERS:
        problems.append(
            FieldProblem(
                path,
                f"{path} is still an unresolved placeholder {_show(value)}; "
                "it must be a string holding the API definition",
            )
        )
    else:
        _text(path, value, problems)


def _parameters(path: str, value: Any, problems: Problems) -> None:
    # oneOf [object, array of objects]: one JSON-schema form, or a list of form pages.
    if isinstance(value, list):
        _list_of(_PARAMETER_PAGE)(path, value, problems)
    elif isinstance(value, dict):
        _PARAMETER_PAGE(path, value, problems)
    else:
        problems.append(_wrong_type(path, value, "an object or a list of objects"))


def _output(path: str, value: Any, problems: Problems) -> None:
    if not isinstance(value, dict):
        problems.append(_wrong_type(path, value, "an object"))
        return
    for key, item in value.items():
        if key == "links":
            _list_of(_OUTPUT_LINK)(f"{path}.links", item, problems)
        elif key == "text":
            _list_of(_OUTPUT_TEXT)(f"{path}.text", item, problems)
        else:
            _any_text(f"{path}.{key}", item, problems)


_PERMISSIONS = _fields({"tags": _list_of(_any_text)})
_PARAMETER_PAGE = _fields({"backstage:permissions": _PERMISSIONS})
_PROFILE = _fields({"displayName": _text, "email": _text, "picture": _text})
_DECORATORS = _list_of(_fields({"id": _any_text, "input": _object}))
_OUTPUT_LINK = _fields(
    {"if": _condition, "url": _text, "entityRef": _text, "title": _text, "icon": _text}
)
_OUTPUT_TEXT = _fields({"if": _condition, "title": _text, "icon": _text, "content": _any_text})


def _step(path: str, value: Any, problems: Problems) -> None:
    if isinstance(value, dict) and "action" not in value:
        problems.append(FieldProblem(f"{path}.action", f"{path}.action is required"))
    _STEP_FIELDS(path, value, problems)


_STEP_FIELDS = _fields(
    {
        "id": _any_text,
        "name": _any_text,
        "action": _any_text,
        "input": _object,
        "if": _condition,
        "backstage:permissions": _PERMISSIONS,
    }
)


@dataclass(frozen=True)
class _SpecRules:
    required: tuple[str, ...]
    fields: dict[str, Check]


#: Per built-in kind: the spec fields its JSON schema requires, and a check per known field.
_SPEC_RULES: dict[str, _SpecRules] = {
    model.KIND_COMPONENT: _SpecRules(
        ("type", "lifecycle", "owner"),
        {
            "type": _text,
            "lifecycle": _text,
            "owner": _text,
            "system": _text,
            "subcomponentOf": _text,
            "providesApis": _texts,
            "consumesApis": _texts,
            "dependsOn": _texts,
        },
    ),
    model.KIND_API: _SpecRules(
        ("type", "lifecycle", "owner", "definition"),
        {
            "type": _text,
            "lifecycle": _text,
            "owner": _text,
            "system": _text,
            "definition": _definition,
        },
    ),
    model.KIND_RESOURCE: _SpecRules(
        ("type", "owner"),
        {"type": _text, "owner": _text, "dependsOn": _texts, "system": _text},
    ),
    model.KIND_SYSTEM: _SpecRules(("owner",), {"owner": _text, "domain": _text, "type": _text}),
    model.KIND_DOMAIN: _SpecRules(
        ("owner",), {"owner": _text, "subdomainOf": _text, "type": _text}
    ),
    model.KIND_GROUP: _SpecRules(
        ("type", "children"),
        {
            "type": _text,
            "profile": _PROFILE,
            "parent": _text,
            "children": _texts,
            "members": _texts,
        },
    ),
    model.KIND_USER: _SpecRules(("memberOf",), {"profile": _PROFILE, "memberOf": _texts}),
    model.KIND_LOCATION: _SpecRules(
        (),
        {
            "type": _text,
            "target": _text,
            "targets": _texts,
            "presence": _one_of("required", "optional"),
        },
    ),
    model.KIND_TEMPLATE: _SpecRules(
        ("type", "steps"),
        {
            "type": _text,
            "owner": _text,
            "lifecycle": _text,
            "parameters": _parameters,
            "secrets": _fields({"schema": _object}),
            "presentation": _fields(
                {
                    "buttonLabels": _fields(
                        {
                            k: _any_text
                            for k in ("backButtonText", "createButtonText", "reviewButtonText")
                        }
                    )
                }
            ),
            "EXPERIMENTAL_recovery": _fields({"EXPERIMENTAL_strategy": _any_text}),
            "formDecorators": _DECORATORS,
            "EXPERIMENTAL_formDecorators": _DECORATORS,
            "steps": _list_of(_step),
            "output": _output,
        },
    ),
}

_BUILTIN_BY_LOWER = {kind.lower(): kind for kind in model.BUILTIN_KINDS}


# ------------------------------------------------------------------ the entity
def validate_entity(
    entity: Any, *, allowed_kinds: Iterable[str] = (), allow_unknown_kinds: bool = False
) -> list[FieldProblem]:
    """Every problem with ``entity``, as Backstage's catalog would judge it; empty if valid.

    A kind outside the built-in ones is a problem unless it is in ``allowed_kinds`` (any
    case) or ``allow_unknown_kinds`` is set; such an entity gets the envelope rules only.
    """
    if not isinstance(entity, dict):
        return [_wrong_type("entity", entity, "an object (a mapping of fields)")]
    problems: Problems = []
    for field in entity:
        if field not in model.ROOT_FIELDS:
            problems.append(
                FieldProblem(
                    str(field),
                    f"{field} is not allowed at the top level of an entity; expected only "
                    "apiVersion, kind, metadata and spec",
                )
            )

    api_version = entity.get("apiVersion", _MISSING)
    api_version_ok = _check_format(
        problems,
        "apiVersion",
        api_version,
        _is_api_version,
        _EXPECT_API_VERSION,
        missing="apiVersion is required (e.g. backstage.io/v1alpha1)",
    )
    kind = entity.get("kind", _MISSING)
    kind_ok = _check_format(
        problems,
        "kind",
        kind,
        _is_kind,
        _EXPECT_KIND,
        missing="kind is required (e.g. Component)",
    )

    metadata = entity.get("metadata", _MISSING)
    if metadata is _MISSING:
        problems.append(FieldProblem("metadata", "metadata is required (with at least a name)"))
    elif not isinstance(metadata, dict):
        problems.append(_wrong_type("metadata", metadata, "an object"))
    else:
        _check_metadata(metadata, problems)

    spec = entity.get("spec", _MISSING)
    spec_ok = spec is _MISSING or isinstance(spec, dict)
    if not spec_ok:
        problems.append(_wrong_type("spec", spec, "an object"))

    if kind_ok:
        rules = _kind_rules(
            kind, api_version, api_version_ok, allowed_kinds, allow_unknown_kinds, problems
        )
        if rules is not None and spec_ok:
            if spec is _MISSING:
                problems.append(FieldProblem("spec", f"spec is required for kind {kind}"))
            else:
                _check_spec(kind, spec, rules, problems)
    return problems


def _is_kind(value: str) -> bool:
    return len(value) <= 63 and _KIND.fullmatch(value) is not None


def _check_format(
    problems: Problems,
    path: str,
    value: Any,
    valid: Callable[[str], bool],
    expected: str,
    *,
    missing: str | None = None,
) -> bool:
    """One formatted string field; True when it is fine. ``missing`` set means required."""
    if value is _MISSING and missing is not None:
        problems.append(FieldProblem(path, missing))
        return False
    if type(value) is not str:
        problems.append(_wrong_type(path, value, "a string"))
        return False
    if not valid(value):
        problems.append(_invalid(path, value, expected))
        return False
    return True


def _kind_rules(
    kind: str,
    api_version: Any,
    api_version_ok: bool,
    allowed_kinds: Iterable[str],
    allow_unknown_kinds: bool,
    problems: Problems,
) -> _SpecRules | None:
    """The spec rules that apply, or None when only the envelope is checked."""
    versions = model.BUILTIN_KINDS.get(kind)
    if versions is None:
        builtin = _BUILTIN_BY_LOWER.get(kind.lower())
        if allow_unknown_kinds or (
            builtin is None and kind.lower() in {k.lower() for k in allowed_kinds}
        ):
            return None
        if builtin is not None:
            message = f'kind "{kind}" is not known; kinds are case-sensitive: use "{builtin}"'
        else:
            message = (
                f'kind "{kind}" is not known; expected one of '
                f"{', '.join(sorted(model.BUILTIN_KINDS))}, or a kind allowed by the "
                "catalog's allowed_kinds setting"
            )
        problems.append(FieldProblem("kind", message))
        return None
    if not api_version_ok:
        return None
    if api_version not in versions:
        hint = ""
        if kind == model.KIND_TEMPLATE and api_version == "backstage.io/v1beta2":
            hint = "; Backstage no longer supports v1beta2 templates"
        problems.append(
            FieldProblem(
                "apiVersion",
                f'apiVersion "{api_version}" is not supported for kind {kind}; expected '
                f"{' or '.join(versions)}{hint}",
            )
        )
        return None
    return _SPEC_RULES[kind]


def _check_spec(kind: str, spec: dict[str, Any], rules: _SpecRules, problems: Problems) -> None:
    for field in rules.required:
        if field not in spec:
            problems.append(
                FieldProblem(f"spec.{field}", f"spec.{field} is required for kind {kind}")
            )
    for field, check in rules.fields.items():
        if field in spec:
            check(f"spec.{field}", spec[field], problems)


def _check_metadata(metadata: dict[str, Any], problems: Problems) -> None:
    _check_format(
        problems,
        "metadata.name",
        metadata.get("name", _MISSING),
        _is_object_name,
        _EXPECT_NAME,
        missing="metadata.name is required",
    )
    get = metadata.get
    if "namespace" in metadata:
        _check_format(
            problems, "metadata.namespace", get("namespace"), _is_dns_label, _EXPECT_NAMESPACE
        )
    if "title" in metadata:
        _text("metadata.title", get("title"), problems)
    if "description" in metadata:
        _any_text("metadata.description", get("description"), problems)
    for field in ("uid", "etag"):
        if field in metadata:
            _text(f"metadata.{field}", get(field), problems)
    if "labels" in metadata:
        _check_map(problems, "metadata.labels", get("labels"), _is_label_value, _EXPECT_LABEL_VALUE)
    if "annotations" in metadata:
        _check_map(problems, "metadata.annotations", get("annotations"), None, "")
    if "tags" in metadata:
        tags = get("tags")
        if not isinstance(tags, list):
            problems.append(_wrong_type("metadata.tags", tags, "a list of strings"))
        else:
            for i, tag in enumerate(tags):
                _check_format(problems, f"metadata.tags[{i}]", tag, _is_tag, _EXPECT_TAG)
    if "links" in metadata:
        _check_links(get("links"), problems)


def _is_label_value(value: str) -> bool:
    return value == "" or _is_object_name(value)


def _is_tag(value: str) -> bool:
    return len(value) <= 63 and _TAG.fullmatch(value) is not None


def _check_map(
    problems: Problems,
    path: str,
    value: Any,
    valid_value: Callable[[str], bool] | None,
    expected_value: str,
) -> None:
    """Labels or annotations: keys ``[prefix/]name``, string values (labels: name-like)."""
    if not isinstance(value, dict):
        problems.append(_wrong_type(path, value, "an object"))
        return
    for key, item in value.items():
        where = f"{path}.{key}"
        if type(key) is not str or not _is_prefixed_name(key):
            problems.append(
                FieldProblem(where, f"{path} key {_show(key)} is not valid; expected {_EXPECT_KEY}")
            )
        if type(item) is not str:
            problems.append(_wrong_type(where, item, "a string"))
        elif valid_value is not None and not valid_value(item):
            problems.append(_invalid(where, item, expected_value))


def _check_links(links: Any, problems: Problems) -> None:
    if not isinstance(links, list):
        problems.append(_wrong_type("metadata.links", links, "a list of objects"))
        return
    for i, link in enumerate(links):
        path = f"metadata.links[{i}]"
        if not isinstance(link, dict):
            problems.append(_wrong_type(path, link, "an object with a url"))
            continue
        if "url" not in link:
            problems.append(FieldProblem(f"{path}.url", f"{path}.url is required"))
        else:
            _check_format(problems, f"{path}.url", link["url"], is_valid_url, _EXPECT_URL)
        for field in ("title", "icon"):
            if field in link:
                value = link[field]
                # FieldFormatEntityPolicy also rejects whitespace-only titles and icons.
                if type(value) is not str or not value.strip():
                    problems.append(_wrong_type(f"{path}.{field}", value, "a non-empty string"))
        if "type" in link:
            _text(f"{path}.type", link["type"], problems)
