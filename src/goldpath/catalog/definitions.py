"""API entities' definitions for the portal: OpenAPI/AsyncAPI documents parsed (safely) to
JSON for swagger-ui, every definition highlighted as source on the server with Pygments."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson
import yaml
from markupsafe import Markup
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer, RegexLexer
from pygments.lexers import get_lexer_by_name
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)
from pygments.util import ClassNotFound

from goldpath.core.errors import InputError, NotFoundError

SWAGGER_JS = "/static/vendor/swagger-ui/swagger-ui-bundle.js"
SWAGGER_CSS = "/static/vendor/swagger-ui/swagger-ui.css"
#: Definition types that are YAML or JSON documents (served as JSON).
DOCUMENT_TYPES = frozenset({"openapi", "asyncapi"})
#: API type -> Pygments lexer; any other type is tried as a lexer name, then plain text.
LEXERS = {
    "openapi": "yaml",
    "asyncapi": "yaml",
    "graphql": "graphql-sdl",
    "grpc": "protobuf",
    "trpc": "typescript",
}
#: Longer definitions are shown as plain text: highlighting is linear but not free.
MAX_HIGHLIGHT_CHARS = 400_000
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def definition_of(entity: Mapping[str, Any]) -> tuple[str, str]:
    """``(type, definition text)`` of an API entity; NotFoundError when it has none."""
    spec = entity.get("spec")
    spec = spec if isinstance(spec, Mapping) else {}
    definition = spec.get("definition")
    if str(entity.get("kind", "")).lower() != "api" or not isinstance(definition, str):
        raise NotFoundError("this entity has no API definition", where="spec.definition")
    return str(spec.get("type") or "").lower(), definition


def parse_document(text: str) -> Any:
    """A YAML (or JSON) definition as data, with the safe loader; InputError naming the
    line when it does not parse."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"spec.definition line {mark.line + 1}" if mark is not None else "spec.definition"
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"the definition is not valid YAML: {problem}", where=where) from exc


def definition_json(entity: Mapping[str, Any]) -> bytes:
    """The definition document as JSON (non-string keys such as ``200:`` become strings)."""
    _, text = definition_of(entity)
    document = parse_document(text)
    if not isinstance(document, Mapping):
        raise InputError("the definition is not a YAML or JSON object", where="spec.definition")
    return orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS, default=str)


_NAME = r"[_A-Za-z][_0-9A-Za-z]*"


class GraphQLSchemaLexer(RegexLexer):
    """GraphQL schemas (SDL) as well as operations: Pygments' own GraphQL lexer reads
    operations only and marks every ``type Shop { id: ID! }`` as an error."""

    name = "GraphQL SDL"
    aliases = ["graphql-sdl"]
    tokens = {
        "root": [
            (r'"""[\s\S]*?"""', String.Doc),
            (r'"(\\.|[^"\\\n])*"', String),
            (r"#.*?$", Comment.Single),
            (
                r"\b(type|interface|union|enum|input|scalar|schema|extend|directive|"
                r"implements|repeatable|on|query|mutation|subscription|fragment)\b",
                Keyword,
            ),
            (r"\b(true|false|null)\b", Keyword.Constant),
            (r"\b(Int|Float|String|Boolean|ID)\b", Keyword.Type),
            (rf"@{_NAME}", Name.Decorator),
            (rf"\${_NAME}", Name.Variable),
            (r"-?\d+(\.\d+)?([eE][+-]?\d+)?", Number),
            (rf"{_NAME}(?=\s*[:(])", Name.Attribute),
            (r"[A-Z][_0-9A-Za-z]*", Name.Class),
            (_NAME, Name),
            (r"\.\.\.|[!=:|&]", Operator),
            (r"[{}()\[\],]", Punctuation),
            (r"\s+", Whitespace),
        ]
    }


def _lexer(name: str) -> Lexer:
    if name == "graphql-sdl":
        return GraphQLSchemaLexer()
    try:
        return get_lexer_by_name(name)
    except ClassNotFound:
        return get_lexer_by_name("text")


def _lexer_name(api_type: str, text: str) -> str:
    name = LEXERS.get(api_type, api_type)
    if name == "yaml" and text.lstrip().startswith("{"):
        return "json"
    return name


@lru_cache(maxsize=128)
def _highlighted(text: str, lexer_name: str) -> str:
    formatter = HtmlFormatter(cssclass="highlight", wrapcode=True)
    return str(pygments_highlight(text, _lexer(lexer_name), formatter))


def highlight(text: str, api_type: str) -> Markup:
    """The definition as highlighted HTML (Pygments escapes the source)."""
    if len(text) > MAX_HIGHLIGHT_CHARS:
        return Markup('<div class="highlight"><pre><code>{}</code></pre></div>').format(text)
    return Markup(_highlighted(text, _lexer_name(api_type, text)))  # noqa: S704 - escaped


def language(api_type: str, text: str) -> str:
    return _lexer_name(api_type, text)


@lru_cache(maxsize=1)
def highlight_css() -> Markup:
    """Pygments' default style (WCAG AA contrast on its light background), for a <style>."""
    return Markup(HtmlFormatter(style="default").get_style_defs(".highlight"))  # noqa: S704
