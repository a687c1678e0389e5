"""The project's shared conformance fixtures, which live beside this repository, not in it.

They sit in ``../shared/conformance`` next to the checkout (or where ``GOLDPATH_SHARED_DIR``
points). A machine without them cannot run the conformance tests, and says so; a run that
names the folder (``.ci/run`` does when the folder is there) fails instead if it is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_ENV = "GOLDPATH_SHARED_DIR"
_REPO = Path(__file__).resolve().parents[1]


def conformance_dir(*parts: str) -> Path:
    """``<shared>/conformance/<parts>``, or skip (fail, when the location was given)."""
    given = os.environ.get(SHARED_ENV)
    shared = Path(given) if given else _REPO.parent / "shared"
    path = shared.joinpath("conformance", *parts)
    if path.is_dir():
        return path
    if given:
        pytest.fail(f"{SHARED_ENV}={given} but {path} does not exist")
    pytest.skip(
        f"the shared conformance fixtures ({path}) are kept outside this repository and are "
        f"not on this machine; set {SHARED_ENV} to the shared folder to run this test"
    )
