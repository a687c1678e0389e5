"""Search index: documents, their text, their tags, and the engine's full-text index.

SQLite: an FTS5 table over the searchable columns of search_content (external content, kept
in step by triggers). PostgreSQL: a generated, weighted tsvector column with a GIN index.

Revision ID: search_0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "search_0001"
down_revision = None
branch_labels = ("search",)
depends_on = "core_0001"

_COLUMNS = ("title", "names", "meta", "body")
# Filter values as tokens (see goldpath.search.documents.filter_token), matched apart.
_FTS_COLUMNS = (*_COLUMNS, "filters")
# Words only (what the query side splits on), weighted title > names/tags > meta > text.


def _weighted(columns: tuple[str, ...]) -> str:
    return " || ".join(
        f"setweight(to_tsvector('simple', regexp_replace({c}, '[^[:alnum:]]+', ' ', 'g')), '{w}')"
        for c, w in zip(columns, "ABCD", strict=False)
    )


_TSVECTOR = _weighted(_COLUMNS)
# The heading columns alone, with their own (small) GIN index: what a very broad term ranks.
_TSVECTOR_HEAD = _weighted(_COLUMNS[:2])


def upgrade() -> None:
    # Narrow rows, scanned by filters and facets; the wide text lives in search_content.
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("doc_key", sa.Text(), nullable=False, unique=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("entity_key", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(63), nullable=False, server_default=""),
        sa.Column("namespace", sa.String(63), nullable=False, server_default=""),
        sa.Column("name", sa.String(255), nullable=False, server_default=""),
        sa.Column("owner", sa.String(255), nullable=False, server_default=""),
        sa.Column("lifecycle", sa.String(63), nullable=False, server_default=""),
        sa.Column("spec_type", sa.String(63), nullable=False, server_default=""),
        sa.Column("tags", sa.Text(), nullable=False, server_default=""),
        sa.Column("sort_key", sa.Text(), nullable=False, server_default=""),
        sa.Column("hash", sa.String(32), nullable=False),
    )
    op.create_index("ix_search_documents_entity", "search_documents", ["entity_key", "type"])
    op.create_index("ix_search_documents_type_sort", "search_documents", ["type", "sort_key", "id"])
    for column in ("kind", "owner", "lifecycle", "spec_type", "name"):
        op.create_index(f"ix_search_documents_{column}", "search_documents", [column])
    op.create_table(
        "search_content",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("title", sa.Text(), nullable=False, server_default=""),
        sa.Column("names", sa.Text(), nullable=False, server_default=""),
        sa.Column("meta", sa.Text(), nullable=False, server_default=""),
        sa.Column("body", sa.Text(), nullable=False, server_default=""),
        sa.Column("filters", sa.Text(), nullable=False, server_default=""),
        sa.Column("document", sa.Text(), nullable=False),
    )
    op.create_table(
        "search_tags",
        sa.Column("tag", sa.String(255), nullable=False),
        sa.Column("doc_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tag", "doc_id", name="pk_search_tags"),
    )
    op.create_index("ix_search_tags_doc_id", "search_tags", ["doc_id"])
    meta = op.create_table(
        "search_meta",
        sa.Column("key", sa.String(63), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(meta, [{"key": "generation", "value": 0}])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"ALTER TABLE search_content ADD COLUMN tsv tsvector "
            f"GENERATED ALWAYS AS ({_TSVECTOR}) STORED"
        )
        op.execute(
            f"ALTER TABLE search_content ADD COLUMN tsv_head tsvector "
            f"GENERATED ALWAYS AS ({_TSVECTOR_HEAD}) STORED"
        )
        op.execute("CREATE INDEX ix_search_content_tsv ON search_content USING gin (tsv)")
        op.execute("CREATE INDEX ix_search_content_tsv_head ON search_content USING gin (tsv_head)")
        op.execute(
            "ALTER TABLE search_content ADD COLUMN tsv_filter tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', filters)) STORED"
        )
        op.execute(
            "CREATE INDEX ix_search_content_tsv_filter ON search_content USING gin (tsv_filter)"
        )
        return
    columns = ", ".join(_FTS_COLUMNS)
    old = ", ".join(f"old.{c}" for c in _FTS_COLUMNS)
    new = ", ".join(f"new.{c}" for c in _FTS_COLUMNS)
    op.execute(
        f"CREATE VIRTUAL TABLE search_fts USING fts5({columns}, content='search_content', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3')"
    )
    op.execute(
        "CREATE TRIGGER search_content_ai AFTER INSERT ON search_content BEGIN "
        f"INSERT INTO search_fts(rowid, {columns}) VALUES (new.id, {new}); END"
    )
    op.execute(
        "CREATE TRIGGER search_content_ad AFTER DELETE ON search_content BEGIN "
        f"INSERT INTO search_fts(search_fts, rowid, {columns}) VALUES ('delete', old.id, {old}); "
        "END"
    )
    op.execute(
        f"CREATE TRIGGER search_content_au AFTER UPDATE OF {columns} ON search_content BEGIN "
        f"INSERT INTO search_fts(search_fts, rowid, {columns}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO search_fts(rowid, {columns}) VALUES (new.id, {new}); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for trigger in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS search_content_{trigger}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    for table in ("search_meta", "search_tags", "search_content", "search_documents"):
        op.drop_table(table)
