"""Reading portal pages the way a test needs: a small element tree from the stdlib's
html.parser, and the create form's round trips (its sealed draft and page travel along)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx
from fastapi.testclient import TestClient

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text for c in self.children]
        return re.sub(r"\s+", " ", "".join(parts)).strip()

    @property
    def raw(self) -> str:
        return "".join(c if isinstance(c, str) else c.raw for c in self.children)

    def iter(self) -> list[Node]:
        found = [self]
        for child in self.children:
            if isinstance(child, Node):
                found.extend(child.iter())
        return found

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [
            n
            for n in self.iter()
            if (tag is None or n.tag == tag) and all(n.attrs.get(k) == v for k, v in wanted.items())
        ]

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one {tag} {attrs}, found {len(found)}"
        return found[0]

    def by_id(self, element_id: str) -> Node:
        return self.one(id=element_id)


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v if v is not None else "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def unlabelled(page: Node) -> list[str]:
    """Form controls no <label for> names (hidden inputs need none)."""
    labelled = {n.attrs.get("for") for n in page.find_all("label")}
    return [
        n.attrs.get("id", f"<{n.tag} name={n.attrs.get('name')}>")
        for n in page.iter()
        if n.tag in ("input", "select", "textarea")
        and n.attrs.get("type") != "hidden"
        and "visually-hidden" not in n.attrs.get("class", "")
        and n.attrs.get("id") not in labelled
    ]


def selected(select: Node) -> list[str]:
    return [o.attrs["value"] for o in select.find_all("option") if "selected" in o.attrs]


def options(select: Node) -> dict[str, str]:
    return {o.attrs["value"]: o.text for o in select.find_all("option")}


def form_values(form: Node) -> dict[str, list[str]]:
    """What a browser would submit for ``form`` as it stands (buttons aside)."""
    values: dict[str, list[str]] = {}
    for n in form.iter():
        name = n.attrs.get("name")
        if not name or n.tag not in ("input", "select", "textarea"):
            continue
        kind = n.attrs.get("type", "text")
        if n.tag == "input" and kind in ("checkbox", "radio"):
            if "checked" in n.attrs:
                values.setdefault(name, []).append(n.attrs.get("value", "on"))
        elif n.tag == "input" and kind not in ("submit", "button"):
            values.setdefault(name, []).append(n.attrs.get("value", ""))
        elif n.tag == "select":
            chosen = selected(n) or [o.attrs["value"] for o in n.find_all("option")[:1]]
            values.setdefault(name, []).extend(chosen)
        elif n.tag == "textarea":
            values.setdefault(name, []).append(n.raw.removeprefix("\n"))
    return values


def step(
    client: TestClient,
    url: str,
    page: httpx.Response,
    answers: dict[str, Any] | None = None,
    action: str = "next",
) -> httpx.Response:
    """Submit the form on ``page`` as a browser would, with ``answers`` typed in (a value
    replaces what the field held; a list for several values of one name)."""
    form = parse(page.text).one("form", id="create-form")
    data: dict[str, Any] = dict(form_values(form))
    data.update(answers or {})
    data["_action"] = action
    return client.post(url, data=data, follow_redirects=False)
