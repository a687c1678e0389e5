"""The filters of ``${{ }}`` expressions: Backstage's own and Nunjucks' built-ins.

Backstage's (``parseRepoUrl``, ``parseEntityRef``, ``pick``, ``projectSlug``) follow
plugins/scaffolder-backend/src/lib/templating/filters/; the built-ins follow Nunjucks'
filters.js where it differs from Jinja's (``default`` replaces only undefined, ``round``
rounds halves up, ``title`` splits on spaces, ``groupby`` returns an object, ``list`` of an
object gives ``{key, value}`` entries). Filters that can make output grow check its size.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from jinja2 import Undefined
from jinja2.exceptions import TemplateRuntimeError
from markupsafe import Markup

from goldpath.scaffolder.javascript import (
    MAX_RANGE,
    UNDEFINED,
    check_size,
    int_arg,
    join_values,
    js_add,
    js_bool,
    js_str_concat,
    js_string,
    replace_text,
    to_number,
    to_plain,
    type_name,
)

# -------------------------------------------------------- Backstage filters
_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:\d{1,5})?$")
_REPO_PARTS = ("owner", "repo", "organization", "workspace", "project")


def parse_repo_url(url: Any) -> dict[str, str]:
    """``host?owner=o&repo=r`` (what RepoUrlPicker produces) → ``{host, owner, repo, ...}``.

    Required parts follow Backstage's parseRepoUrl by kind of host: Bitbucket needs
    ``project`` (and ``workspace`` on bitbucket.org), GitLab ``owner`` unless ``project`` is
    given, Gitea and Gerrit only ``repo``, every other host ``owner``.
    """
    if not isinstance(url, str) or not url.strip():
        raise TemplateRuntimeError(
            "parseRepoUrl expects a repository URL like github.com?owner=acme&repo=web, "
            f"got {_describe(url)}"
        )
    parsed = urlsplit("https://" + url.strip())
    host = parsed.netloc
    if not host or not _HOST.match(host):
        raise TemplateRuntimeError(f"parseRepoUrl: {url!r} does not start with a host name")
    params: dict[str, str] = {}
    for key, value in parse_qsl(parsed.query, keep_blank_values=True):
        params.setdefault(key, value)
    lowered = host.lower()
    if "bitbucket" in lowered:
        required = ["project", "repo"]
        if lowered.split(":")[0] in ("bitbucket.org", "www.bitbucket.org"):
            required.insert(0, "workspace")
    elif "gitlab" in lowered:
        required = ["repo"] if params.get("project") else ["owner", "repo"]
    elif "gitea" in lowered or "gerrit" in lowered:
        required = ["repo"]
    else:
        required = ["repo", "owner"]
    for key in required:
        if not params.get(key):
            raise TemplateRuntimeError(f"parseRepoUrl: {url!r} has no {key}")
    result = {"host": host}
    for key in _REPO_PARTS:
        if key in params:
            result[key] = params[key]
    return result


def project_slug(url: Any) -> str:
    """``owner/repo`` of a RepoUrlPicker value (GitLab's nested groups stay in ``owner``)."""
    parts = parse_repo_url(url)
    if "owner" not in parts:
        raise TemplateRuntimeError(f"projectSlug: {url!r} has no owner")
    return f"{parts['owner']}/{parts['repo']}"


def parse_entity_ref(ref: Any, options: Any = None) -> dict[str, str]:
    """``[kind:][namespace/]name`` → ``{kind, namespace, name}``, defaults from ``options``."""
    from goldpath.catalog.refs import parse_entity_ref as parse
    from goldpath.core.errors import InputError

    opts = options if isinstance(options, Mapping) else {}
    kind = opts.get("defaultKind")
    namespace = opts.get("defaultNamespace")
    try:
        parsed = parse(
            to_plain(ref),
            default_kind=js_string(kind) or None,
            default_namespace=js_string(namespace) or "default",
        )
    except InputError as exc:
        raise TemplateRuntimeError(f"parseEntityRef: {exc.message}") from exc
    return {"kind": parsed.kind, "namespace": parsed.namespace, "name": parsed.name}


_PATH_PART = re.compile(r"""[^.\[\]]+|\[(?:(-?\d+)|(["'])(.*?)\2)\]""")


def _path_parts(path: Any) -> list[Any]:
    if isinstance(path, list | tuple):
        return list(path)
    parts: list[Any] = []
    for match in _PATH_PART.finditer(js_string(path)):
        if match.group(1) is not None:
            parts.append(match.group(1))
        elif match.group(2) is not None:
            parts.append(match.group(3))
        else:
            parts.append(match.group(0))
    return parts


def get_path(value: Any, path: Any) -> Any:
    """lodash ``get``: ``a.b[0].c`` into objects and arrays; undefined when absent."""
    current = value
    for part in _path_parts(path):
        if isinstance(current, Mapping):
            key = part if part in current else js_string(part)
            if key not in current:
                return UNDEFINED
            current = current[key]
        elif isinstance(current, list | tuple) and js_string(part).isdigit():
            index = int(js_string(part))
            if index >= len(current):
                return UNDEFINED
            current = current[index]
        else:
            return UNDEFINED
    return current


def pick(value: Any, path: Any) -> Any:
    """Backstage's ``pick``: a (dotted) property of an object."""
    return get_path(value, path)


# --------------------------------------------------------- Nunjucks filters
def _describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return type_name(value)


def _normalize(value: Any) -> str:
    """Nunjucks' ``normalize(value, '')``: null, undefined and false print as nothing."""
    if value is False:
        return ""
    return js_string(value)


def dump(value: Any, spaces: Any = None) -> Any:
    """``JSON.stringify(value, null, spaces)``."""
    if isinstance(value, Undefined) or callable(value):
        return UNDEFINED  # JSON.stringify(undefined) is undefined
    indent: int | str | None = None
    if isinstance(spaces, str):
        indent = spaces[:10] or None
    elif isinstance(spaces, int | float) and not isinstance(spaces, bool) and spaces >= 1:
        indent = min(int(spaces), 10)
    text = json.dumps(
        _json_ready(value),
        indent=indent,
        ensure_ascii=False,
        separators=(",", ": ") if indent else (",", ":"),
    )
    check_size(len(text), "dump's output")
    return text


def _json_ready(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return int(value) if value.is_integer() and abs(value) < 1e21 else value
    if isinstance(value, Undefined) or callable(value):
        return None
    if isinstance(value, Mapping):
        return {
            js_string(k): _json_ready(v)
            for k, v in value.items()
            if not isinstance(v, Undefined) and not callable(v)
        }
    if isinstance(value, list | tuple | range | Iterator):
        return [_json_ready(v) for v in value]
    if value is None or isinstance(value, str | bool | int):
        return value
    return str(value)


def default(value: Any, fallback: Any = UNDEFINED, boolean: Any = False) -> Any:
    """Nunjucks ``default``: replaces undefined (here also null: Python has one None for
    both, and a value Backstage passes as undefined often arrives here as None); with the
    third argument true, every falsy value."""
    if js_bool(boolean):
        return value if js_bool(value) else fallback
    return fallback if value is None or isinstance(value, Undefined) else value


def escape(value: Any) -> Markup:
    if isinstance(value, Markup):
        return value
    return forceescape(value)


def forceescape(value: Any) -> Markup:
    text = html.escape(js_string(value), quote=True).replace("&#x27;", "&#39;")
    return Markup(text)  # noqa: S704 - escaped on the line above


def safe(value: Any) -> Markup:
    # Marking text safe is this filter's purpose; nothing is autoescaped here anyway.
    return value if isinstance(value, Markup) else Markup(js_string(value))  # noqa: S704


def nl2br(value: Any) -> str:
    if value is None or isinstance(value, Undefined):
        return ""
    return re.sub(r"\r\n|\n", "<br />\n", js_string(value))


def first(value: Any) -> Any:
    if isinstance(value, list | tuple | str):
        return value[0] if value else UNDEFINED
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return next(iter(value), UNDEFINED)
    return UNDEFINED


def last(value: Any) -> Any:
    if isinstance(value, Iterator | range):
        value = list(value)
    if isinstance(value, list | tuple | str):
        return value[-1] if value else UNDEFINED
    return UNDEFINED


def length(value: Any) -> int:
    if value is None or value is False or isinstance(value, Undefined):
        return 0
    if isinstance(value, str | list | tuple | Mapping | range):
        return len(value)
    if isinstance(value, Iterator):
        return len(list(value))
    return 0


def to_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return list(value)
    if isinstance(value, Mapping):
        return [{"key": k, "value": v} for k, v in value.items()]
    if isinstance(value, list | tuple | range | Iterator):
        return list(value)
    raise TemplateRuntimeError(f"list filter: {_describe(value)} is not iterable")


def lower(value: Any) -> str:
    return _normalize(value).lower()


def upper(value: Any) -> str:
    return _normalize(value).upper()


def capitalize(value: Any) -> str:
    text = _normalize(value).lower()
    return text[:1].upper() + text[1:]


def title(value: Any) -> str:
    return " ".join(capitalize(word) for word in _normalize(value).split(" "))


def trim(value: Any) -> str:
    return js_string(value).strip()


def string(value: Any) -> str:
    return js_str_concat(value) if value is not None else "null"


def center(value: Any, width: Any = 80) -> str:
    text = _normalize(value)
    size = int_arg(width, 80) or 80
    if len(text) >= size:
        return text
    check_size(size, "a centred string")
    spaces = size - len(text)
    before = spaces // 2
    return " " * before + text + " " * (spaces - before)


def indent(value: Any, width: Any = 4, indent_first: Any = False) -> str:
    text = _normalize(value)
    if not text:
        return ""
    size = int_arg(width, 4) or 4
    lines = text.split("\n")
    check_size(len(text) + size * len(lines), "an indented string")
    pad = " " * size
    return "\n".join(
        line if i == 0 and not js_bool(indent_first) else pad + line for i, line in enumerate(lines)
    )


def join(value: Any, separator: Any = "", attribute: Any = None) -> str:
    items = list(value) if isinstance(value, list | tuple) else to_list(value)
    if attribute is not None and not isinstance(attribute, Undefined):
        items = [get_path(item, attribute) for item in items]
    return join_values(items, separator if js_bool(separator) else "")


def replace(value: Any, old: Any, new: Any, max_count: Any = UNDEFINED) -> Any:
    if isinstance(old, int | float) and not isinstance(old, bool):
        old = js_string(old)
    elif not isinstance(old, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = js_string(value)
    if not isinstance(value, str):
        return value
    count = int_arg(max_count, -1)
    if count == 0:
        return value
    return replace_text(value, old, new, count=max(count, 0))


def reverse(value: Any) -> Any:
    if isinstance(value, str):
        return value[::-1]
    if isinstance(value, list | tuple | range | Iterator):
        return list(value)[::-1]
    raise TemplateRuntimeError(f"reverse filter: cannot reverse {_describe(value)}")


def js_round(value: Any, precision: Any = 0, method: Any = "common") -> Any:
    number = to_number(value)
    places = int_arg(precision, 0)
    if isinstance(number, float) and (math.isnan(number) or math.isinf(number)):
        return number
    if method == "ceil":
        rounding = "ROUND_CEILING"
    elif method == "floor":
        rounding = "ROUND_FLOOR"
    else:
        # Math.round: halves go up (towards +Infinity).
        rounding = ROUND_HALF_UP if number >= 0 else "ROUND_HALF_DOWN"
    try:
        result = Decimal(repr(number)).quantize(Decimal(1).scaleb(-places), rounding=rounding)
    except InvalidOperation:
        return number
    return int(result) if places <= 0 else float(result)


def js_int(value: Any, fallback: Any = UNDEFINED) -> Any:
    """``parseInt(value, 10)``: leading digits, or the fallback."""
    match = re.match(r"\s*([+-]?\d+)", js_string(value))
    return int(match.group(1)) if match else fallback


def js_float(value: Any, fallback: Any = UNDEFINED) -> Any:
    """``parseFloat(value)``: the leading number, or the fallback."""
    match = re.match(r"\s*([+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)", js_string(value), re.I)
    if match:
        return float(match.group(1))
    text = js_string(value).strip()
    if text.startswith(("Infinity", "+Infinity", "-Infinity")):
        return -math.inf if text.startswith("-") else math.inf
    return fallback


_TAGS = re.compile(r"<\/?([a-z][a-z0-9]*)\b[^>]*>|<!--[\s\S]*?-->", re.IGNORECASE)


def striptags(value: Any, preserve_linebreaks: Any = False) -> str:
    text = _TAGS.sub("", _normalize(value))
    text = text.strip()
    if js_bool(preserve_linebreaks):
        text = re.sub(r"^ +| +$", "", text, flags=re.M)
        text = re.sub(r" +", " ", text).replace("\r\n", "\n")
        return re.sub(r"\n\n\n+", "\n\n", text)
    return re.sub(r"\s+", " ", text)


def truncate(value: Any, size: Any = 255, killwords: Any = False, end: Any = None) -> str:
    text = _normalize(value)
    limit = int_arg(size, 255) or 255
    if len(text) <= limit:
        return text
    if js_bool(killwords):
        text = text[:limit]
    else:
        cut = text.rfind(" ", 0, limit + 1)
        text = text[: cut if cut != -1 else limit]
    return text + ("..." if end is None or isinstance(end, Undefined) else js_string(end))


def urlencode(value: Any) -> str:
    def enc(part: Any) -> str:
        return quote(js_str_concat(part), safe="-_.!~*'()")

    if isinstance(value, str):
        return enc(value)
    if isinstance(value, Mapping):
        entries: Iterable[Any] = value.items()
    elif isinstance(value, list | tuple):
        entries = value
    else:
        return enc(value)
    return "&".join(f"{enc(k)}={enc(v)}" for k, v in entries)


def wordcount(value: Any) -> Any:
    words = re.findall(r"\w+", _normalize(value))
    return len(words) if words else None


def groupby(value: Any, attribute: Any) -> dict[str, list[Any]]:
    """Nunjucks ``groupby``: an object of lists keyed by the attribute's value."""
    groups: dict[str, list[Any]] = {}
    for item in value if isinstance(value, list | tuple) else to_list(value):
        groups.setdefault(js_str_concat(get_path(item, attribute)), []).append(item)
    return groups


def batch(value: Any, count: Any, fill: Any = None) -> list[list[Any]]:
    size = int_arg(count, 0)
    if size <= 0:
        raise TemplateRuntimeError("batch filter: the batch size must be positive")
    items = list(value) if isinstance(value, list | tuple) else to_list(value)
    if js_bool(fill):
        check_size(size, "batch's padding")
    result = [items[i : i + size] for i in range(0, len(items), size)]
    if result and js_bool(fill):
        result[-1] = result[-1] + [fill] * (size - len(result[-1]))
    return result


def slice_filter(value: Any, slices: Any, fill: Any = None) -> list[list[Any]]:
    count = int_arg(slices, 0)
    if count <= 0 or count > MAX_RANGE:
        raise TemplateRuntimeError(f"slice filter: the number of slices must be 1..{MAX_RANGE}")
    items = list(value) if isinstance(value, list | tuple) else to_list(value)
    size, extra = divmod(len(items), count)
    result = []
    offset = 0
    for i in range(count):
        start = offset + i * size
        if i < extra:
            offset += 1
        part = items[start : offset + (i + 1) * size]
        if js_bool(fill) and i >= extra:
            part.append(fill)
        result.append(part)
    return result


def total(value: Any, attribute: Any = None, start: Any = 0) -> Any:
    items = list(value) if isinstance(value, list | tuple) else to_list(value)
    if attribute is not None and not isinstance(attribute, Undefined):
        items = [get_path(item, attribute) for item in items]
    result: Any = 0
    for item in items:
        result = js_add(result, item)
    return js_add(start, result)


FILTERS: dict[str, Callable[..., Any]] = {
    # Backstage's own.
    "parseRepoUrl": parse_repo_url,
    "parseEntityRef": parse_entity_ref,
    "pick": pick,
    "projectSlug": project_slug,
    # Nunjucks built-ins whose behaviour differs from Jinja's.
    "batch": batch,
    "capitalize": capitalize,
    "center": center,
    "default": default,
    "d": default,
    "dump": dump,
    "escape": escape,
    "e": escape,
    "first": first,
    "float": js_float,
    "forceescape": forceescape,
    "groupby": groupby,
    "indent": indent,
    "int": js_int,
    "join": join,
    "last": last,
    "length": length,
    "count": length,
    "list": to_list,
    "lower": lower,
    "nl2br": nl2br,
    "replace": replace,
    "reverse": reverse,
    "round": js_round,
    "safe": safe,
    "slice": slice_filter,
    "string": string,
    "striptags": striptags,
    "sum": total,
    "title": title,
    "trim": trim,
    "truncate": truncate,
    "upper": upper,
    "urlencode": urlencode,
    "wordcount": wordcount,
}

#: Jinja filters that are not Nunjucks' and can build unbounded output or print internals.
REMOVED_FILTERS = ("format", "pprint", "wordwrap", "filesizeformat", "xmlattr")

TESTS: dict[str, Callable[..., bool]] = {
    "truthy": js_bool,
    "falsy": lambda v: not js_bool(v),
    "null": lambda v: v is None,
}
