"""What a hosted repository looks like to callers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Branch(BaseModel):
    name: str
    head: str


class Repository(BaseModel):
    owner: str
    name: str
    description: str = ""
    default_branch: str = Field(default="main", serialization_alias="defaultBranch")
    clone_url: str = Field(serialization_alias="cloneUrl")
    contents_url: str = Field(serialization_alias="contentsUrl")
    branches: list[Branch] | None = None

    def as_api(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)
