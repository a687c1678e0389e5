"""``GET /api/techdocs/sync/:namespace/:kind/:name`` as Backstage's TechDocs reader calls it:
an event stream of ``log`` events and one ``finish`` (or ``error``), or JSON without it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from techdocs_helpers import STATIC, builds, latest, register, service_folder, write

from goldpath.app import create_app
from goldpath.core.platform import Platform
from goldpath.core.tasks import Worker

SYNC = "/api/techdocs/sync/default/component/ledger"


@pytest.fixture
def live(make_settings: Any) -> Iterator[Platform]:
    """A platform whose sync checks the source every time, with a worker running its tasks."""
    platform = Platform.create(make_settings(**{"plugins.techdocs.sync_check_interval_seconds": 0}))
    try:
        yield platform
    finally:
        platform.close()


def sse_events(client: TestClient, url: str) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    with client.stream("GET", url, headers={"accept": "text/event-stream"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event:
                events.append((event, json.loads(line.removeprefix("data: "))))
    return events


def test_sync_builds_changed_docs_and_says_whether_it_did(live: Platform, tmp_path: Path) -> None:
    folder = service_folder(tmp_path)
    register(live, folder)
    assert len(builds(live)) == 1
    with (
        Worker(live.tasks, concurrency=1, poll_interval=0.05),
        TestClient(create_app(live)) as client,
    ):
        # Up to date: nothing built, in both forms.
        assert client.get(SYNC).json() == {"updated": False, "build": None}
        assert sse_events(client, SYNC) == [("finish", {"updated": False})]
        assert len(builds(live)) == 1

        write(folder / "docs" / "index.md", "# Ledger\n\nSynced by JSON.\n")
        answer = client.get(SYNC).json()
        assert answer["updated"] is True
        assert answer["build"]["status"] == "succeeded" and answer["build"]["reason"] == "sync"
        assert "Synced by JSON" in client.get(STATIC).text

        write(folder / "docs" / "index.md", "# Ledger\n\nSynced by stream.\n")
        events = sse_events(client, SYNC)
        assert events[-1] == ("finish", {"updated": True})
        logs = [data for kind, data in events if kind == "log"]
        assert all(isinstance(line, str) for line in logs)
        assert any("Documentation built" in line for line in logs), logs
        assert "Synced by stream" in client.get(STATIC).text

        write(folder / "mkdocs.yml", "site_name: Ledger\nplugins: [no-such-plugin]\n")
        events = sse_events(client, SYNC)
        kind, message = events[-1]
        assert kind == "error" and 'The "no-such-plugin" plugin is not installed' in message
        assert latest(live).status == "failed"
        assert "Synced by stream" in client.get(STATIC).text

        assert client.get("/api/techdocs/sync/default/component/nobody").status_code == 404


def test_sync_only_checks_a_source_once_a_minute_by_default(
    platform: Platform, tmp_path: Path
) -> None:
    folder = service_folder(tmp_path)
    register(platform, folder)
    with (
        Worker(platform.tasks, concurrency=1, poll_interval=0.05),
        TestClient(create_app(platform)) as client,
    ):
        started = time.monotonic()
        assert client.get(SYNC).json()["updated"] is False
        write(folder / "docs" / "index.md", "# Ledger\n\nNot yet.\n")
        # Checked moments ago: answered at once, as Backstage's synchroniser does.
        assert client.get(SYNC).json() == {"updated": False, "build": None}
        assert time.monotonic() - started < 30
        assert len(builds(platform)) == 1
