"""Backstage's ``${{ … }}`` template expressions, with Nunjucks semantics, in a Jinja2 sandbox.

Backstage renders step inputs and skeleton files with Nunjucks configured to use ``${{`` and
``}}`` as variable delimiters. Jinja2 is Nunjucks' ancestor and shares its syntax; where the
two differ in ways templates rely on, this module follows Nunjucks:

- undefined values render as nothing, and looking a member up on one gives undefined again;
- values print the JavaScript way (``true``, ``a,b`` for a list, nothing for null);
- a string that is exactly one expression keeps the expression's type (Backstage parses such
  results back from JSON), so ``${{ parameters.tags }}`` stays a list;
- ``null`` is a literal.

Everything runs in ``ImmutableSandboxedEnvironment``: no access to private or dunder
attributes, no mutation of passed-in values, no loader (so no ``include``/``import`` of
files), bounded ``range`` and bounded output.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from jinja2 import ChainableUndefined, TemplateError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from goldpath.core.errors import InputError

#: Most characters one rendering may produce: a template is not a way to fill the disk.
MAX_OUTPUT_CHARS = 10 * 1024 * 1024
_CACHE_SIZE = 4096
_SINGLE = re.compile(r"^\s*\$\{\{(.*)\}\}\s*$", re.DOTALL)


class ExpressionError(InputError):
    """An expression could not be parsed or evaluated; names the text and the place."""

    title = "Invalid template expression"


def js_string(value: Any) -> str:
    """``String(value)`` as JavaScript would print it."""
    if value is None or isinstance(value, ChainableUndefined):
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, list | tuple):
        return ",".join(js_string(v) for v in value)
    if isinstance(value, Mapping):
        return "[object Object]"
    return str(value)


def js_truthy(value: Any) -> bool:
    """Backstage's ``isTruthy``: arrays by length, everything else as JavaScript's ``!!``."""
    if isinstance(value, ChainableUndefined) or value is None:
        return False
    if isinstance(value, list | tuple):
        return len(value) > 0
    if isinstance(value, Mapping):
        return True
    if isinstance(value, float) and math.isnan(value):
        return False
    return bool(value)


def _plain(value: Any) -> Any:
    """Undefined → None, recursively; Jinja's markup strings → str."""
    if isinstance(value, ChainableUndefined):
        return None
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# ------------------------------------------------------------------- filters
def parse_repo_url(url: Any) -> dict[str, str]:
    """``host?owner=o&repo=r`` (RepoUrlPicker's value) → its parts."""
    if not isinstance(url, str) or not url:
        raise ExpressionError(
            f"parseRepoUrl expects a string like host?owner=o&repo=r, got {url!r}"
        )
    host, _, query = url.partition("?")
    if not host:
        raise ExpressionError(f"parseRepoUrl: no host in {url!r}")
    params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=False).items() if v}
    parts = {"host": host}
    for key in ("owner", "repo", "organization", "workspace", "project"):
        if key in params:
            parts[key] = params[key]
    if "repo" not in parts:
        raise ExpressionError(f"parseRepoUrl: no repo in {url!r}")
    if host.startswith("bitbucket"):
        if "workspace" not in parts and "owner" not in parts:
            raise ExpressionError(f"parseRepoUrl: no workspace in {url!r}")
    elif "owner" not in parts and "organization" not in parts:
        raise ExpressionError(f"parseRepoUrl: no owner in {url!r}")
    return parts


def parse_entity_ref_filter(ref: Any, context: Mapping[str, Any] | None = None) -> dict[str, str]:
    from goldpath.catalog.refs import parse_entity_ref

    options = context if isinstance(context, Mapping) else {}
    try:
        parsed = parse_entity_ref(
            ref,
            default_kind=options.get("defaultKind"),
            default_namespace=options.get("defaultNamespace") or "default",
        )
    except InputError as exc:
        raise ExpressionError(f"parseEntityRef: {exc.message}") from exc
    return {"kind": parsed.kind, "namespace": parsed.namespace, "name": parsed.name}


def pick(value: Any, key: Any) -> Any:
    """``pick(obj, 'a.b')``: the member at a (dotted) path, or undefined."""
    current = value
    for part in str(key).split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def project_slug(url: Any) -> str:
    parts = parse_repo_url(url)
    return f"{parts.get('owner') or parts.get('organization')}/{parts['repo']}"


def dump(value: Any, indent: int | str | None = None) -> str:
    """Nunjucks ``dump``: ``JSON.stringify(value, null, indent)``."""
    spaces = int(str(indent)) if str(indent).isdigit() else None
    return json.dumps(
        _plain(value),
        indent=spaces or None,
        ensure_ascii=False,
        separators=(",", ":") if not spaces else (",", ": "),
        default=str,
    )


def nl2br(value: Any) -> str:
    return js_string(value).replace("\r\n", "<br />\n").replace("\n", "<br />\n")


def nunjucks_default(value: Any, default: Any = "", boolean: bool = False) -> Any:
    """Replaces undefined (and null, which JavaScript callers pass for "unset"); with
    ``boolean`` every falsy value."""
    if isinstance(value, ChainableUndefined) or value is None:
        return default
    if boolean and not js_truthy(value):
        return default
    return value


BUILTIN_FILTERS: dict[str, Callable[..., Any]] = {
    "parseRepoUrl": parse_repo_url,
    "parseEntityRef": parse_entity_ref_filter,
    "pick": pick,
    "projectSlug": project_slug,
    "dump": dump,
    "nl2br": nl2br,
    "default": nunjucks_default,
    "d": nunjucks_default,
}


# ------------------------------------------------------------------ renderer
class _Environment(ImmutableSandboxedEnvironment):
    def __init__(self, variable_start: str, *, trim: bool = False, lstrip: bool = False) -> None:
        super().__init__(
            variable_start_string=variable_start,
            variable_end_string="}}",
            autoescape=False,
            undefined=ChainableUndefined,
            keep_trailing_newline=True,
            trim_blocks=trim,
            lstrip_blocks=lstrip,
            finalize=js_string,
        )
        # Only what templates use: lipsum/cycler/joiner serve no scaffolding purpose.
        for name in ("lipsum", "cycler", "joiner"):
            self.globals.pop(name, None)
        self.globals["null"] = None

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        # Object literals as Nunjucks reads them: ``{ defaultKind: 'group' }`` has the key
        # "defaultKind"; Jinja would look up a variable of that name instead. Every template
        # and expression is compiled through here.
        for pair in source.find_all(nodes.Pair):
            if isinstance(pair.key, nodes.Name):
                pair.key = nodes.Const(pair.key.name, lineno=pair.key.lineno)
        return str(super()._generate(source, name, filename, defer_init=defer_init))

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # Refuse loudly: a silent undefined would hide an attack and confuse an honest author.
        raise SecurityError(
            f"access to {attribute!r} of a {type(obj).__name__} is not allowed in templates"
        )

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # Nothing private at all, not only dunders: ``_TemplateReference__context`` etc.
        if attr.startswith("_"):
            return False
        return bool(super().is_safe_attribute(obj, attr, value))


class Templater:
    """Renders values and files; one per process is enough (compiled templates are cached)."""

    def __init__(self, *, extra_filters: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self._filters = {**BUILTIN_FILTERS, **(extra_filters or {})}
        self._envs: dict[tuple[str, bool, bool], _Environment] = {}
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------ plumbing
    def _env(self, start: str, trim: bool = False, lstrip: bool = False) -> _Environment:
        key = (start, trim, lstrip)
        env = self._envs.get(key)
        if env is None:
            env = _Environment(start, trim=trim, lstrip=lstrip)
            env.filters.update(self._filters)
            self._envs[key] = env
        return env

    def _compiled(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        compiled = build()
        with self._lock:
            self._cache[key] = compiled
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return compiled

    @staticmethod
    def _fail(text: str, where: str, exc: Exception) -> ExpressionError:
        shown = text if len(text) <= 200 else text[:197] + "..."
        if isinstance(exc, ExpressionError):
            reason = exc.message
        elif isinstance(exc, TemplateError):
            reason = exc.message or type(exc).__name__
        else:
            reason = f"{type(exc).__name__}: {exc}"
        return ExpressionError(f"cannot render {shown!r}: {reason}", where=where or None)

    def _render(self, template: Any, context: Mapping[str, Any], text: str, where: str) -> str:
        try:
            total = 0
            chunks = []
            for chunk in template.generate(dict(context)):
                total += len(chunk)
                if total > MAX_OUTPUT_CHARS:
                    raise ExpressionError(
                        f"output is larger than {MAX_OUTPUT_CHARS // (1024 * 1024)} MB"
                    )
                chunks.append(chunk)
            return "".join(chunks)
        except (TemplateError, ExpressionError, TypeError, ValueError, ArithmeticError) as exc:
            raise self._fail(text, where, exc) from exc

    # -------------------------------------------------------------- values
    def evaluate(self, expression: str, context: Mapping[str, Any], *, where: str = "") -> Any:
        """The value of one expression (the inside of ``${{ … }}``)."""
        env = self._env("${{")

        def build() -> Any:
            # compile_expression wraps parsing; keep its errors as ours.
            return env.compile_expression(expression, undefined_to_none=False)

        try:
            compiled = self._compiled(("expr", expression), build)
            value = compiled(**dict(context))
        except (TemplateError, ExpressionError, TypeError, ValueError, ArithmeticError) as exc:
            raise self._fail("${{ " + expression.strip() + " }}", where, exc) from exc
        return _plain(value)

    def render_string(self, text: str, context: Mapping[str, Any], *, where: str = "") -> str:
        env = self._env("${{")
        template = self._compiled(("str", text), lambda: self._parse(env, text, where))
        return self._render(template, context, text, where)

    def _parse(self, env: _Environment, text: str, where: str) -> Any:
        try:
            return env.from_string(text)
        except TemplateError as exc:
            raise self._fail(text, where, exc) from exc

    def render_value(self, value: Any, context: Mapping[str, Any], *, where: str = "") -> Any:
        """Render every string in ``value`` (dicts and lists walked; keys left alone)."""
        if isinstance(value, str):
            if "${{" not in value:
                return value
            single = _SINGLE.match(value)
            if single and "${{" not in single.group(1) and "}}" not in single.group(1):
                return self.evaluate(single.group(1), context, where=where)
            return self.render_string(value, context, where=where)
        if isinstance(value, Mapping):
            return {
                k: self.render_value(v, context, where=f"{where}.{k}" if where else str(k))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [
                self.render_value(v, context, where=f"{where}[{i}]") for i, v in enumerate(value)
            ]
        return value

    def evaluate_condition(
        self, value: Any, context: Mapping[str, Any], *, where: str = ""
    ) -> bool:
        """A step's ``if``: a bool, or a string rendered then judged the JavaScript way."""
        return js_truthy(self.render_value(value, context, where=where))

    # --------------------------------------------------------------- files
    def render_text(
        self,
        text: str,
        context: Mapping[str, Any],
        *,
        cookiecutter_compat: bool = False,
        trim_blocks: bool = False,
        lstrip_blocks: bool = False,
        where: str = "",
    ) -> str:
        """Render a whole file: ``${{ }}`` variables (``{{ }}`` with cookiecutterCompat),
        ``{% %}`` tags and ``{# #}`` comments."""
        start = "{{" if cookiecutter_compat else "${{"
        env = self._env(start, trim_blocks, lstrip_blocks)
        if cookiecutter_compat and "values" in context and "cookiecutter" not in context:
            context = {**context, "cookiecutter": context["values"]}
        key = ("text", start, trim_blocks, lstrip_blocks, text)
        template = self._compiled(key, lambda: self._parse(env, text, where))
        return self._render(template, context, text, where)

    def has_syntax(self, text: str, *, cookiecutter_compat: bool = False) -> bool:
        """Whether ``text`` needs rendering at all (a fast path for plain files)."""
        start = "{{" if cookiecutter_compat else "${{"
        return start in text or "{%" in text or "{#" in text
