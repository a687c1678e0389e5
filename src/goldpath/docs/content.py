"""A built page's HTML: its text and sections (for search), and a safe copy for the portal.

The portal shows a page's rendered Markdown inside its own layout, so that HTML is
sanitised (docs authors can write raw HTML, and it must not run script in the portal) and
its links are rewritten: pages of the site stay under ``/docs/...``, everything else
(images, downloads) comes from the raw static route.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import nh3

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_SKIP_TEXT = frozenset({"script", "style", "template"})
_SPACE = re.compile(r"\s+")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

#: What a rendered MkDocs page uses (Markdown, pymdownx, admonitions, code, tables).
ALLOWED_TAGS = frozenset(nh3.ALLOWED_TAGS | {"input", "label", "section", "main"})
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "id", "title", "lang", "dir"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "loading"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "ol": {"start", "type"},
    "input": {"type", "checked", "disabled"},
    "label": {"for"},
    "details": {"open"},
    "abbr": {"title"},
    "time": {"datetime"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[dict[str, Any]] = [{"id": "", "title": "", "parts": []}]
        self._heading: dict[str, Any] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in _SKIP_TEXT or (tag == "a" and "headerlink" in (values.get("class") or "")):
            self._skip += 1
            return
        if tag in _HEADINGS:
            self._heading = {"id": values.get("id") or "", "title": [], "parts": []}
        elif tag in ("p", "li", "br", "tr", "pre", "div", "dd", "dt", "td", "th"):
            self._append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self._skip and tag in (_SKIP_TEXT | {"a"}):
            self._skip -= 1
            return
        if tag in _HEADINGS and self._heading is not None:
            title = _clean("".join(self._heading["title"]))
            self.sections.append({"id": self._heading["id"], "title": title, "parts": []})
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._heading is not None:
            self._heading["title"].append(data)
        else:
            self._append(data)

    def _append(self, text: str) -> None:
        self.sections[-1]["parts"].append(text)


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def text_and_sections(html: str) -> tuple[str, list[dict[str, str]]]:
    """The page's whole text, and one ``{id, title, text}`` per heading with an anchor."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    sections = []
    everything: list[str] = []
    for section in parser.sections:
        text = _clean("".join(section["parts"]))
        everything.extend(part for part in (section["title"], text) if part)
        if section["id"]:
            sections.append({"id": section["id"], "title": section["title"], "text": text})
    return " ".join(everything), sections


def page_dir(url: str) -> str:
    """The folder a page's relative links start from (``runbook/`` for ``runbook/``)."""
    if not url or url.endswith("/"):
        return url
    folder = posixpath.dirname(url)
    return f"{folder}/" if folder else ""


def _is_site_page(path: str, is_page: Callable[[str], bool]) -> bool:
    if not path or path.endswith("/"):
        return is_page(path + "index.html")
    return is_page(path) or is_page(path + "/index.html")


def portal_html(
    content: str,
    *,
    page_url: str,
    docs_base: str,
    static_base: str,
    is_page: Callable[[str], bool],
) -> str:
    """``content`` sanitised, its site links under ``docs_base`` and assets under
    ``static_base`` (both ending in ``/``)."""
    here = "https://site.invalid/" + page_dir(page_url)

    def rewrite(tag: str, attribute: str, value: str) -> str | None:
        if attribute not in ("href", "src"):
            return value
        if value.startswith(("#", "//")) or _SCHEME.match(value):
            return value
        target = urlsplit(urljoin(here, value))
        path = target.path.lstrip("/")
        fragment = f"#{target.fragment}" if target.fragment else ""
        if tag == "a" and _is_site_page(path, is_page):
            return f"{docs_base}{path}{fragment}"
        return f"{static_base}{path}{fragment}"

    return nh3.clean(
        content,
        tags=set(ALLOWED_TAGS),
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=rewrite,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )
