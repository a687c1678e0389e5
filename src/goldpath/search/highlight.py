"""Highlights: the title with every match marked, and the best window of the text.

Done here rather than by the engines' own functions because only a page of documents needs
it and both engines match the same unstemmed words, so one regular expression marks exactly
what matched: FTS5's ``highlight()``/``snippet()`` re-run the query for each row (0.2-0.3 ms a
row with prefix terms), and ``ts_headline`` parses each document again.
"""

from __future__ import annotations

import re

from goldpath.search.terms import Clause

SNIPPET_CHARS = 220
_BEFORE = 60
_MAX_MATCHES = 40
_ELLIPSIS = "…"


def matcher(clauses: list[Clause]) -> re.Pattern[str] | None:
    """A pattern matching every word a clause matches: exact words, and prefixes."""
    words: dict[str, bool] = {}
    for clause in clauses:
        for index, token in enumerate(clause.tokens):
            prefix = clause.prefix and index == len(clause.tokens) - 1
            words[token] = words.get(token, False) or prefix
    if not words:
        return None
    # Longest first, so ``payments`` is not cut short by ``pay``.
    alternatives = [
        re.escape(w) + (r"[^\W_]*" if prefix else r"(?![^\W_])")
        for w, prefix in sorted(words.items(), key=lambda wp: -len(wp[0]))
    ]
    return re.compile(r"(?<![^\W_])(?:" + "|".join(alternatives) + ")", re.IGNORECASE)


def mark(text: str, pattern: re.Pattern[str], pre: str, post: str) -> str:
    return pattern.sub(lambda m: f"{pre}{m.group(0)}{post}", text)


def snippet(text: str, pattern: re.Pattern[str], pre: str, post: str) -> str:
    """About SNIPPET_CHARS of ``text`` around its densest run of matches, marked."""
    text = " ".join(text.split()) if len(text) < 4 * SNIPPET_CHARS else text
    positions = []
    for found in pattern.finditer(text):
        positions.append((found.start(), found.group(0).lower()))
        if len(positions) >= _MAX_MATCHES:
            break
    if len(text) <= SNIPPET_CHARS:
        return mark(text, pattern, pre, post)
    start = 0
    if positions:
        best = -1
        for anchor, _ in positions:
            window = {w for p, w in positions if anchor <= p < anchor + SNIPPET_CHARS - _BEFORE}
            if len(window) > best:
                best, start = len(window), max(0, anchor - _BEFORE)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    end = min(len(text), start + SNIPPET_CHARS)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + SNIPPET_CHARS // 2 else end
    piece = " ".join(text[start:end].split())
    return (
        (_ELLIPSIS if start else "")
        + mark(piece, pattern, pre, post)
        + (_ELLIPSIS if end < len(text) else "")
    )
