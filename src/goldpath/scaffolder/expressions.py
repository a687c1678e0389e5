"""Backstage's ``${{ … }}`` template expressions, with Nunjucks semantics, in a Jinja2 sandbox.

Backstage renders step inputs and skeleton files with Nunjucks configured to use ``${{`` and
``}}`` as variable delimiters. Jinja2 is Nunjucks' model and shares its syntax; where the two
differ in ways templates rely on, the environment here follows Nunjucks (the JavaScript side
lives in ``javascript.py``, the filters in ``template_filters.py``):

- undefined prints as nothing, a member of undefined is undefined, and comparisons,
  arithmetic, truthiness and ``==`` work as in JavaScript (``'v' + 1`` is ``v1``, an empty
  list is true inside templates);
- members are JavaScript's: ``name.length``, ``name.split('/')``, ``list.join('-')``, and an
  object's keys win over Python methods (``values.items`` is the key ``items``);
- ``{ key: value }`` object literals take bare keys as strings; ``{% for k, v in object %}``
  iterates entries; ``null`` is a literal; ``elseif`` and ``verbatim`` are accepted;
- the filters are Nunjucks' built-ins plus Backstage's (``parseRepoUrl``, ``parseEntityRef``,
  ``pick``, ``projectSlug``).

The sandbox: no private or dunder attribute of anything that is not plain data, no Python
methods, no mutation, no loader (``include``/``import`` refuse), bounded ``range`` and output.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from jinja2 import BaseLoader, TemplateNotFound, nodes
from jinja2.environment import Template, TemplateExpression
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from goldpath.core.errors import GoldpathError, InputError
from goldpath.scaffolder import javascript as js
from goldpath.scaffolder import template_filters
from goldpath.scaffolder.javascript import MAX_OUTPUT_CHARS, UNDEFINED, JsUndefined

__all__ = ["MAX_OUTPUT_CHARS", "ExpressionError", "Templater"]

_CACHE_SIZE = 4096
#: Sources above this size are compiled but not kept (a cache entry holds compiled code).
_CACHE_MAX_SOURCE = 256 * 1024
_ELSEIF = re.compile(r"(\{%-?\s*)elseif\b")
_VERBATIM = re.compile(r"(\{%-?\s*)(end)?verbatim\b")


class ExpressionError(InputError):
    """An expression could not be parsed or evaluated; names the text and the problem."""

    title = "Invalid template expression"


# ------------------------------------------------------------- environment
class _NoFiles(BaseLoader):
    def get_source(self, environment: Any, template: str) -> Any:
        raise TemplateNotFound(f"{template} (templates cannot include, import or extend files)")


class _NunjucksSyntax(NodeTransformer):
    """Rewrites Jinja's tree where Nunjucks means something else."""

    def _filter(self, node: nodes.Node, name: str, *args: nodes.Node) -> nodes.Filter:
        return nodes.Filter(node, name, list(args), [], None, None, lineno=node.lineno)

    def visit_Pair(self, node: nodes.Pair) -> nodes.Node:
        self.generic_visit(node)
        if isinstance(node.key, nodes.Name):
            node.key = nodes.Const(node.key.name, lineno=node.key.lineno)
        return node

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        if isinstance(node.target, nodes.Tuple) and len(node.target.items) == 2:
            node.iter = self._filter(node.iter, "__nj_pairs")
        if node.test is not None:
            node.test = self._filter(node.test, "__nj_bool")
        return node

    def visit_If(self, node: nodes.If) -> nodes.Node:
        self.generic_visit(node)
        node.test = self._filter(node.test, "__nj_bool")
        return node

    def visit_CondExpr(self, node: nodes.CondExpr) -> nodes.Node:
        self.generic_visit(node)
        node.test = self._filter(node.test, "__nj_bool")
        return node

    def visit_Not(self, node: nodes.Not) -> nodes.Node:
        self.generic_visit(node)
        node.node = self._filter(node.node, "__nj_bool")
        return node

    def visit_And(self, node: nodes.And) -> nodes.Node:
        # JavaScript's `a && b`: b when a is truthy, else a (so `[] and x` is x).
        self.generic_visit(node)
        test = self._filter(node.left, "__nj_bool")
        return nodes.CondExpr(test, node.right, node.left, lineno=node.lineno)

    def visit_Or(self, node: nodes.Or) -> nodes.Node:
        self.generic_visit(node)
        test = self._filter(node.left, "__nj_bool")
        return nodes.CondExpr(test, node.left, node.right, lineno=node.lineno)

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        self.generic_visit(node)
        args: list[nodes.Node] = []
        for operand in node.ops:
            args += [nodes.Const(operand.op, lineno=node.lineno), operand.expr]
        return self._filter(node.expr, "__nj_compare", *args)

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return self._filter(nodes.List(node.nodes, lineno=node.lineno), "__nj_concat")


def _listing(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)  # keeps Jinja's pass_context marker
    def call(*args: Any, **kwargs: Any) -> list[Any]:
        return list(function(*args, **kwargs))

    return call


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["+", "-", "*", "/", "//", "%", "**"])
    intercepted_unops = frozenset(["-", "+"])

    def __init__(
        self,
        *,
        variable_start: str,
        trim_blocks: bool,
        lstrip_blocks: bool,
        newline: str,
        python_methods: bool,
        filters: Mapping[str, Callable[..., Any]],
    ) -> None:
        super().__init__(  # noqa: S701 - output is files and values, not HTML
            variable_start_string=variable_start,
            variable_end_string="}}",
            autoescape=False,
            undefined=JsUndefined,
            keep_trailing_newline=True,
            trim_blocks=trim_blocks,
            lstrip_blocks=lstrip_blocks,
            newline_sequence=newline,
            finalize=js.js_string,
            loader=_NoFiles(),
            cache_size=0,
        )
        self.python_methods = python_methods
        for name in ("dict", "lipsum", "namespace"):
            self.globals.pop(name, None)
        self.globals["range"] = js.bounded_range
        self.globals["null"] = None
        for name in template_filters.REMOVED_FILTERS:
            self.filters.pop(name, None)
        self.filters.update(template_filters.FILTERS)
        self.filters["attr"] = lambda obj, name: self.getattr(obj, name)
        # Nunjucks returns arrays where Jinja returns generators (which print as nothing
        # useful and can be read only once).
        for name in ("map", "select", "reject", "selectattr", "rejectattr", "unique"):
            self.filters[name] = _listing(self.filters[name])
        if python_methods:
            self.filters["jsonify"] = template_filters.dump
        self.filters.update(filters)
        # After plugins' filters: the rewritten syntax depends on these.
        self.filters["__nj_pairs"] = js.pairs
        self.filters["__nj_bool"] = js.js_bool
        self.filters["__nj_compare"] = js.compare
        self.filters["__nj_concat"] = js.concat
        self.tests.update(template_filters.TESTS)

    # Every template and expression is compiled through here.
    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        tree = _NunjucksSyntax().visit(source)
        tree.set_environment(self)
        return str(super()._generate(tree, name, filename, defer_init=defer_init))

    # -------------------------------------------------------------- members
    def getattr(self, obj: Any, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise self._refuse(obj, attribute)
        if isinstance(obj, JsUndefined):
            return obj
        value = js.js_member(obj, attribute, python_methods=self.python_methods)
        if value is NotImplemented:
            if attribute.startswith("_"):
                raise self._refuse(obj, attribute)
            return super().getattr(obj, attribute)
        if value is UNDEFINED:
            return self.undefined(obj=obj, name=attribute)
        return value

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, JsUndefined):
            return obj
        private = isinstance(argument, str) and argument.startswith("_")
        if private and argument.startswith("__"):
            raise self._refuse(obj, argument)
        value = js.js_item(obj, argument, python_methods=self.python_methods)
        if value is NotImplemented:
            if private:
                raise self._refuse(obj, argument)
            return super().getitem(obj, argument)
        if value is UNDEFINED:
            return self.undefined(obj=obj, name=argument if isinstance(argument, str) else None)
        return value

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # Nothing private at all, not only dunders (``_TemplateReference__context``).
        return not attr.startswith("_") and bool(super().is_safe_attribute(obj, attr, value))

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # Refuse loudly: a silent undefined would hide an attack and confuse an honest author.
        raise self._refuse(obj, attribute)

    @staticmethod
    def _refuse(obj: Any, attribute: str) -> SecurityError:
        return SecurityError(
            f"{attribute!r} of {type(obj).__name__} is not accessible in templates"
        )

    # ------------------------------------------------------------ operators
    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        return js.js_binop(operator, left, right)

    def call_unop(self, context: Any, operator: str, arg: Any) -> Any:
        return js.js_negate(arg) if operator == "-" else js.to_number(arg)


class _Plan(NamedTuple):
    """How a step-input string renders: one typed expression, or a template to a string."""

    expression: TemplateExpression | None
    template: Template | None


def _plugin_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    """Plugin filters get plain JSON values (None for undefined), never Jinja objects."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        return function(
            *(js.to_plain(a) for a in args), **{k: js.to_plain(v) for k, v in kwargs.items()}
        )

    return call


class Templater:
    """Renders step inputs, conditions and files. One per process: compilations are cached."""

    def __init__(self, *, extra_filters: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self._filters = {
            name: _plugin_filter(function) for name, function in (extra_filters or {}).items()
        }
        self._envs: dict[tuple[str, bool, bool, str, bool], _Environment] = {}
        self._lock = threading.Lock()
        self._plans = functools.lru_cache(maxsize=_CACHE_SIZE)(self._plan_uncached)
        self._templates = functools.lru_cache(maxsize=_CACHE_SIZE)(self._template_uncached)

    # ------------------------------------------------------------ plumbing
    def _env(
        self,
        start: str = "${{",
        trim: bool = False,
        lstrip: bool = False,
        newline: str = "\n",
        compat: bool = False,
    ) -> _Environment:
        key = (start, trim, lstrip, newline, compat)
        env = self._envs.get(key)
        if env is None:
            with self._lock:
                env = self._envs.get(key)
                if env is None:
                    env = _Environment(
                        variable_start=start,
                        trim_blocks=trim,
                        lstrip_blocks=lstrip,
                        newline=newline,
                        python_methods=compat,
                        filters=self._filters,
                    )
                    self._envs[key] = env
        return env

    @staticmethod
    def _newline(text: str) -> str:
        # Jinja rewrites line ends in template text; keep a CRLF file CRLF.
        return "\r\n" if "\r\n" in text else "\n"

    @staticmethod
    def _nunjucks_only(text: str) -> str:
        if "elseif" in text:
            text = _ELSEIF.sub(r"\1elif", text)
        if "verbatim" in text:
            text = _VERBATIM.sub(lambda m: m.group(1) + ("endraw" if m.group(2) else "raw"), text)
        return text

    def _plan_uncached(self, text: str) -> _Plan:
        env = self._env(newline=self._newline(text))
        stripped = text.strip()
        if stripped.startswith("${{") and stripped.endswith("}}"):
            try:
                return _Plan(env.compile_expression(stripped[3:-2], undefined_to_none=False), None)
            except TemplateSyntaxError:
                pass  # not one expression (``${{ a }} ${{ b }}``), or broken: parse as a whole
        return _Plan(None, env.from_string(self._nunjucks_only(text)))

    def _plan(self, text: str) -> _Plan:
        if len(text) > _CACHE_MAX_SOURCE:
            return self._plan_uncached(text)
        return self._plans(text)

    def _template_uncached(self, text: str, env_key: tuple[str, bool, bool, str, bool]) -> Template:
        return self._env(*env_key).from_string(self._nunjucks_only(text))

    def _template(self, text: str, env_key: tuple[str, bool, bool, str, bool]) -> Template:
        if len(text) > _CACHE_MAX_SOURCE:
            return self._template_uncached(text, env_key)
        return self._templates(text, env_key)

    @staticmethod
    def _error(text: str, where: str, exc: BaseException, *, whole_file: bool = False) -> Exception:
        if isinstance(exc, ExpressionError):
            return exc
        if isinstance(exc, TemplateSyntaxError):
            reason = f"syntax error on line {exc.lineno}: {exc.message}"
            if whole_file:
                lines = text.splitlines()
                if 0 < exc.lineno <= len(lines):
                    reason += f" (in {lines[exc.lineno - 1].strip()[:120]!r})"
        elif isinstance(exc, TemplateError):
            reason = exc.message or type(exc).__name__
        elif isinstance(exc, GoldpathError):
            reason = exc.message
        elif isinstance(exc, RecursionError):
            reason = "too deeply nested (recursion)"
        else:
            reason = f"{type(exc).__name__}: {exc}"
        if whole_file:
            message = f"cannot render the template: {reason}"
        else:
            shown = text if len(text) <= 200 else text[:197] + "..."
            message = f"cannot render {shown!r}: {reason}"
        return ExpressionError(message, where=where or None)

    @staticmethod
    def _run(template: Template, context: Mapping[str, Any]) -> str:
        js.reset_budget()
        total = 0
        chunks = []
        for chunk in template.generate(context):
            total += len(chunk)
            if total > MAX_OUTPUT_CHARS:
                raise ExpressionError(
                    f"the output is larger than the {MAX_OUTPUT_CHARS // (1024 * 1024)} MB "
                    "a template may produce"
                )
            chunks.append(chunk)
        return "".join(chunks)

    # -------------------------------------------------------------- values
    def _render_string(self, text: str, context: Mapping[str, Any], where: str) -> Any:
        """A step-input string: a typed value, or undefined (``UNDEFINED``) when it renders
        to nothing, as Backstage turns ``''`` into ``undefined``."""
        try:
            plan = self._plan(text)
            if plan.expression is not None:
                js.reset_budget()
                value = plan.expression(context)
                return UNDEFINED if isinstance(value, JsUndefined) else js.to_plain(value)
            assert plan.template is not None
            rendered = self._run(plan.template, context)
        except Exception as exc:
            raise self._error(text, where, exc) from exc
        return rendered if rendered else UNDEFINED

    def _render(self, value: Any, context: Mapping[str, Any], where: str) -> Any:
        if isinstance(value, str):
            if "${{" not in value:
                return value
            return self._render_string(value, context, where)
        if isinstance(value, Mapping):
            out = {}
            for key, item in value.items():
                rendered = self._render(item, context, f"{where}.{key}" if where else str(key))
                # Backstage drops keys whose value renders to undefined (JSON has no
                # undefined), so an optional input left empty is absent, not null.
                if rendered is not UNDEFINED:
                    out[key] = rendered
            return out
        if isinstance(value, list):
            return [
                None if (r := self._render(v, context, f"{where}[{i}]")) is UNDEFINED else r
                for i, v in enumerate(value)
            ]
        return value

    def render_value(self, value: Any, context: Mapping[str, Any], *, where: str = "") -> Any:
        """Render every string in ``value``; dicts and lists are walked, keys left alone.

        A string that is exactly one ``${{ expr }}`` keeps the value's type; any other string
        with ``${{`` becomes a string (values printed the JavaScript way); strings without
        ``${{`` are returned as they are. Undefined is ``None`` (and drops a dict key).
        """
        rendered = self._render(value, context, where)
        return None if rendered is UNDEFINED else rendered

    def evaluate_condition(
        self, value: Any, context: Mapping[str, Any], *, where: str = ""
    ) -> bool:
        """A step's ``if``: ``false`` skips, a string is rendered and judged by Backstage's
        ``isTruthy`` (an empty list is false); anything else runs the step, as in Backstage."""
        if isinstance(value, bool):
            return value
        if not isinstance(value, str):
            return True
        return js.is_truthy(self.render_value(value, context, where=where))

    # --------------------------------------------------------------- files
    @staticmethod
    def has_syntax(text: str, *, cookiecutter_compat: bool = False) -> bool:
        """Whether ``text`` needs rendering at all (plain files skip the engine)."""
        start = "{{" if cookiecutter_compat else "${{"
        return start in text or "{%" in text or "{#" in text

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
        """Render a whole file: ``${{ }}`` variables (``{{ }}`` with ``cookiecutter_compat``,
        where ``cookiecutter`` is also the name of ``values``), ``{% %}`` tags and ``{# #}``
        comments. Line ends and the final newline are kept."""
        if not self.has_syntax(text, cookiecutter_compat=cookiecutter_compat):
            return text
        if cookiecutter_compat and "cookiecutter" not in context:
            context = {**context, "cookiecutter": context.get("values")}
        start = "{{" if cookiecutter_compat else "${{"
        key = (start, trim_blocks, lstrip_blocks, self._newline(text), cookiecutter_compat)
        try:
            return self._run(self._template(text, key), context)
        except Exception as exc:
            raise self._error(text, where, exc, whole_file=True) from exc
