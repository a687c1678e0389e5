"""What a hosted repository looks like to callers (API, CLI, actions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Branch(BaseModel):
    name: str
    head: str = Field(description="The commit the branch points at.")


class Repository(BaseModel):
    owner: str
    name: str
    description: str = ""
    default_branch: str = Field(default="main", serialization_alias="defaultBranch")
    clone_url: str = Field(serialization_alias="cloneUrl")
    #: ``<base>/git/<owner>/<name>/blob/<default branch>``: where its files are read.
    contents_url: str = Field(serialization_alias="contentsUrl")
    #: Unknown for repositories goldpath did not create itself.
    created_at: datetime | None = Field(default=None, serialization_alias="createdAt")
    #: Only filled when asked for (it costs a ``git for-each-ref``).
    branches: list[Branch] | None = None

    def as_api(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class CreateRepositoryRequest(BaseModel):
    """``POST /api/git/repos``."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    owner: str = Field(description="Owner (a team or user name): letters, digits, . _ -")
    name: str = Field(description="Repository name; a trailing .git is dropped.")
    description: str = ""
    default_branch: str = Field(default="main", alias="defaultBranch")
