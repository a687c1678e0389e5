"""What a user types, turned into a full-text query neither engine can misread.

A term is split into clauses: a quoted run of words is a phrase, a bare word is a single
token (or a phrase of its parts when it holds separators: ``checkout-service``,
``user@example.com``). Every clause must match (AND). The last word, when bare, also matches
as a prefix, so results follow typing (``pay`` finds ``payments``); a one-letter word does
not, as it would match almost everything. Only the last: a prefix costs a merge of every
word it begins, and the words before it are typed out. Words are not stemmed: a stemmed
prefix is another prefix (``pay`` stems to ``pai``), and unstemmed, both engines split and
match words the same way.

Tokens are letters and digits only, the way both indexes split text, and they are quoted
when the engine query is written, so operators (``NEAR``, ``OR``, ``*``, ``:``, ``(``, ``-``,
quotes) in the input are plain words or separators, never syntax.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from goldpath.core.errors import InputError

MAX_TERM_CHARS = 500
MAX_CLAUSES = 16
#: The shortest last word that is also matched as a prefix.
MIN_PREFIX_CHARS = 2

# Letters and digits, as SQLite's unicode61 tokenizer and our PostgreSQL normalisation see
# them: underscores and every other character separate tokens.
_TOKEN = re.compile(r"[^\W_]+")
_PART = re.compile(r'"([^"]*)"?|([^\s"]+)')


@dataclass(frozen=True)
class Clause:
    tokens: tuple[str, ...]
    #: The last token also matches every word it begins.
    prefix: bool = False


def tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def parse_term(term: str | None) -> list[Clause]:
    """The clauses of a search term; empty when it holds no word at all."""
    term = (term or "").strip()
    if len(term) > MAX_TERM_CHARS:
        raise InputError(
            f"the search term is longer than {MAX_TERM_CHARS} characters", where="term"
        )
    clauses: list[Clause] = []
    last_bare = False
    for match in _PART.finditer(term):
        quoted, bare = match.group(1), match.group(2)
        words = tokens(quoted if quoted is not None else bare)
        if words:
            clauses.append(Clause(tuple(words)))
            last_bare = bare is not None
    clauses = list(dict.fromkeys(clauses))[:MAX_CLAUSES]
    if clauses and last_bare and len(clauses[-1].tokens[-1]) >= MIN_PREFIX_CHARS:
        clauses[-1] = Clause(clauses[-1].tokens, prefix=True)
    return clauses


def fts5_query(clauses: list[Clause]) -> str:
    """An FTS5 MATCH expression: every clause a quoted string (a phrase when several tokens),
    ``*`` after it for a prefix. Tokens hold no quote, so nothing escapes its string."""
    return " AND ".join('"' + " ".join(c.tokens) + '"' + ("*" if c.prefix else "") for c in clauses)


#: The columns words are matched in; ``filters`` holds filter tokens, never matched by words.
TEXT_COLUMNS = "{title names meta body}"
HEADING_COLUMNS = "{title names}"


def fts5_match(
    clauses: list[Clause], filters: Sequence[Sequence[str]], *, columns: str = TEXT_COLUMNS
) -> str:
    """The clauses in ``columns``, and every filter (any of its tokens) in ``filters``."""
    parts = [f"{columns} : ({fts5_query(clauses)})"]
    parts += ["filters : (" + " OR ".join(f'"{t}"' for t in group) + ")" for group in filters]
    return " AND ".join(parts)


def tsquery_filters(filters: Sequence[Sequence[str]]) -> str:
    """Filter tokens for ``to_tsquery('simple', …)``: any token of a filter, every filter."""
    return " & ".join("(" + " | ".join(f"'{t}'" for t in group) + ")" for group in filters)


def tsquery(clauses: list[Clause]) -> str:
    """A PostgreSQL ``to_tsquery('simple', …)`` input: quoted lexemes, ``<->`` in phrases,
    ``:*`` for a prefix, clauses joined by ``&``."""
    parts = []
    for clause in clauses:
        words = [f"'{t}'" for t in clause.tokens]
        if clause.prefix:
            words[-1] += ":*"
        parts.append(words[0] if len(words) == 1 else "(" + " <-> ".join(words) + ")")
    return " & ".join(parts)


def normalise_text(text: str) -> str:
    """Words separated by single spaces: what the PostgreSQL index is built from, so it splits
    ``checkout-service`` and ``a@b.com`` into words as SQLite does and as queries are split."""
    return " ".join(_TOKEN.findall(text))
