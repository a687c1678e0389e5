"""Multi-document YAML to entity documents, with the line each document starts on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

try:  # the C loader is ~10x faster; PyYAML wheels ship it
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - pure-Python fallback
    from yaml import SafeLoader  # type: ignore[assignment]

from goldpath.core.errors import InputError

_DOC_START = re.compile(rb"^---(?:[ \t]|$)", re.MULTILINE)


@dataclass(frozen=True)
class Document:
    data: Any
    line: int | None


def _document_lines(content: bytes) -> list[int]:
    """1-based first line of each document, assuming documents split on ``---`` lines."""
    starts: list[int] = []
    line, position = 1, 0
    first_marker: int | None = None
    for match in _DOC_START.finditer(content):
        line += content.count(b"\n", position, match.start())
        position = match.start()
        if first_marker is None:
            first_marker = match.start()
        # A document's first line is the one after its ``---`` marker.
        starts.append(line + 1)
    if first_marker is None or _has_content(content[:first_marker]):
        starts.insert(0, 1)
    return starts


def _has_content(chunk: bytes) -> bool:
    for line in chunk.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(b"#") and not stripped.startswith(b"%"):
            return True
    return False


def parse_documents(content: bytes, where: str) -> list[Document]:
    """Every non-empty document in ``content``; a YAML error names the file and line."""
    try:
        docs = [d for d in yaml.load_all(content, Loader=SafeLoader)]  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"invalid YAML at{line}: {problem}", where=where) from exc
    lines = _document_lines(content)
    # Empty documents (a trailing ---) yield None; keep the line mapping aligned by index.
    aligned = len(lines) == len(docs)
    return [
        Document(data=doc, line=lines[i] if aligned else None)
        for i, doc in enumerate(docs)
        if doc is not None
    ]
