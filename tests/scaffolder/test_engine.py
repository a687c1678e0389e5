"""The scaffolder engine end to end: templates from the catalog, durable tasks, the API."""

from __future__ import annotations

import base64
import json
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import engine_plugin
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from goldpath.app import create_app
from goldpath.catalog.service import get_catalog
from goldpath.core.config import Settings
from goldpath.core.errors import ConflictError, InputError
from goldpath.core.platform import Platform
from goldpath.core.plugins import build_plugin_manager
from goldpath.core.tasks import Worker
from goldpath.scaffolder.service import get_scaffolder

TEMPLATE = """
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: {name}
  title: Engine test
  annotations:
    goldpath.dev/template-version: 1.2.0
spec:
  owner: team-platform
  type: service
  parameters:
    - title: Basics
      required: [name]
      properties:
        name: {{type: string, pattern: '^[a-z][a-z0-9-]*$'}}
        replicas: {{type: integer, default: 2}}
        regions: {{type: array, items: {{type: string}}, default: [eu, us]}}
        enabled: {{type: boolean, default: false}}
    - title: Access
      properties:
        token: {{type: string, ui:field: Secret}}
  steps:
{steps}
  output:
    links:
      - title: Repository
        url: https://example.test/${{{{ parameters.name }}}}
    text:
      - title: Replicas
        content: ${{{{ steps.echo.output.replicas }}}}
    typed: ${{{{ steps.echo.output.replicas }}}}
    regions: ${{{{ steps.each.output.region }}}}
"""

DEFAULT_STEPS = """
    - id: echo
      name: Echo answers
      action: test:echo
      input:
        message: hello ${{ parameters.name }} with ${{ secrets.token }}
        replicas: ${{ parameters.replicas }}
        regions: ${{ parameters.regions }}
    - id: skipped
      name: Only when enabled
      if: ${{ parameters.enabled }}
      action: test:echo
      input: {message: never}
    - id: each
      name: Per region
      each: ${{ parameters.regions }}
      action: test:echo
      input:
        message: region ${{ each.value }}
        region: ${{ each.value | upper }}
    - id: write
      name: Write a file
      action: test:write
      input: {path: 'out/${{ parameters.name }}.txt', content: done}
"""


def _register_template(platform: Platform, tmp_path: Path, name: str, steps: str) -> str:
    folder = tmp_path / "templates" / name
    folder.mkdir(parents=True)
    path = folder / "template.yaml"
    path.write_text(TEMPLATE.format(name=name, steps=textwrap.indent(steps.strip("\n"), "")))
    get_catalog(platform).add_location("file", str(path))
    platform.tasks.run_until_idle(timeout=30)
    return f"template:default/{name}"


@pytest.fixture
def engine(settings: Settings) -> Iterator[Platform]:
    pm = build_plugin_manager()
    pm.register(engine_plugin, name="engine-test-plugin")
    platform = Platform.create(settings, plugins=pm)
    try:
        yield platform
    finally:
        platform.close()


def _run(platform: Platform, ref: str, values: dict[str, Any], **kw: Any) -> dict[str, Any]:
    service = get_scaffolder(platform)
    task_id = service.create_task(ref, values, **kw)
    platform.tasks.run_until_idle(timeout=60)
    return {"id": task_id, "row": service.get_task(task_id), "events": service.events(task_id)}


def test_a_task_runs_every_step_and_renders_its_output(engine: Platform, tmp_path: Path) -> None:
    ref = _register_template(engine, tmp_path, "svc", DEFAULT_STEPS)
    run = _run(engine, ref, {"name": "payments"}, secrets={"token": "s3cr3t-value"})
    row = run["row"]
    assert row.status == "completed", run["events"]
    assert row.template_version == "1.2.0"
    # Defaults filled in, typed single expressions keep their types, each collects outputs.
    assert row.spec["parameters"] == {
        "name": "payments",
        "replicas": 2,
        "regions": ["eu", "us"],
        "enabled": False,
    }
    assert row.output is not None
    assert row.output["typed"] == 2
    assert row.output["regions"] == ["EU", "US"]
    assert row.output["links"] == [{"title": "Repository", "url": "https://example.test/payments"}]
    assert row.output["text"][0]["content"] == 2  # one expression: its type is kept
    statuses = {step: state["status"] for step, state in row.steps.items()}
    assert statuses == {
        "echo": "completed",
        "skipped": "skipped",
        "each": "completed",
        "write": "completed",
    }
    assert all("durationSeconds" in row.steps[s] for s in ("echo", "each", "write"))
    messages = [e["body"]["message"] for e in run["events"]]
    assert "Beginning step Echo answers" in messages
    assert "Skipping step skipped because its if condition was false" in messages
    assert "region eu" in messages and "region us" in messages
    assert run["events"][-1]["type"] == "completion"
    assert run["events"][-1]["body"]["output"]["typed"] == 2
    # The workspace is gone once the task ended.
    assert not (get_scaffolder(engine).workspaces / run["id"]).exists()


def test_secrets_are_masked_and_never_stored(engine: Platform, tmp_path: Path) -> None:
    ref = _register_template(engine, tmp_path, "svc", DEFAULT_STEPS)
    secret = "s3cr3t-value"
    # Given among the answers: a Secret field is moved to the secrets before anything is stored.
    run = _run(engine, ref, {"name": "payments", "token": secret})
    assert run["row"].status == "completed"
    assert "hello payments with ***" in [e["body"]["message"] for e in run["events"]]
    with engine.db.session(write=False) as session:
        dump = " ".join(
            str(row)
            for table in ("scaffolder_tasks", "scaffolder_task_events", "events", "tasks")
            for row in session.execute(sa.text(f"SELECT * FROM {table}")).all()
        )
        left = session.execute(sa.text("SELECT count(*) FROM scaffolder_task_secrets")).scalar()
    assert secret not in dump
    assert "token" not in run["row"].spec["parameters"]
    assert left == 0


def test_invalid_answers_are_refused_per_field_before_a_task_exists(
    engine: Platform, tmp_path: Path
) -> None:
    ref = _register_template(engine, tmp_path, "svc", DEFAULT_STEPS)
    service = get_scaffolder(engine)
    with pytest.raises(InputError) as caught:
        service.create_task(ref, {"name": "Not Valid", "replicas": "three"})
    fields = {d["field"] for d in caught.value.details}
    assert fields == {"name", "replicas"}
    assert service.list_tasks()[1] == 0


def test_template_run_event_records_the_run(engine: Platform, tmp_path: Path) -> None:
    ref = _register_template(engine, tmp_path, "svc", DEFAULT_STEPS)
    run = _run(engine, ref, {"name": "payments"}, secrets={"token": "zzz-secret"})
    [event] = engine.events.list(types=["template.run"])
    assert event.subject == "template:default/svc"
    assert event.data["taskId"] == run["id"]
    assert event.data["templateVersion"] == "1.2.0"
    assert event.data["result"] == "completed"
    assert event.data["answers"]["name"] == "payments"
    assert "zzz-secret" not in json.dumps(event.data)
    assert event.data["durationSeconds"] >= 0


def test_a_failing_step_fails_the_task_and_retry_runs_it_again(
    engine: Platform, tmp_path: Path
) -> None:
    steps = """
    - {id: first, name: First, action: test:echo, input: {message: one}}
    - {id: flaky, name: Flaky, action: test:fail-once}
    - {id: last, name: Last, action: test:echo, input: {message: three}}
    """
    ref = _register_template(engine, tmp_path, "flaky", steps)
    run = _run(engine, ref, {"name": "x"})
    row = run["row"]
    assert row.status == "failed"
    assert row.error is not None and "first attempt fails" in row.error["message"]
    assert row.steps["flaky"]["status"] == "failed"
    assert "last" not in row.steps
    completion = run["events"][-1]
    assert completion["type"] == "completion" and completion["body"]["error"]["message"]

    service = get_scaffolder(engine)
    assert service.retry(run["id"]) == run["id"]
    engine.tasks.run_until_idle(timeout=60)
    again = service.get_task(run["id"])
    assert again.status == "completed"
    assert again.attempt == 2
    with pytest.raises(ConflictError):
        service.retry(run["id"])


def test_invalid_action_input_names_the_step(engine: Platform, tmp_path: Path) -> None:
    steps = "    - {id: bad, name: Bad input, action: test:write, input: {content: x}}"
    ref = _register_template(engine, tmp_path, "bad-input", steps)
    row = _run(engine, ref, {"name": "x"})["row"]
    assert row.status == "failed"
    assert row.error is not None
    assert (
        "test:write" in row.error["message"]
        and "'path' is a required property" in (row.error["message"])
    )


def test_an_expression_cannot_write_outside_the_workspace(engine: Platform, tmp_path: Path) -> None:
    steps = """
    - id: escape
      name: Escape
      action: test:write
      input: {path: '../${{ parameters.name }}/evil.txt', content: x}
    """
    ref = _register_template(engine, tmp_path, "escape", steps)
    row = _run(engine, ref, {"name": "x"})["row"]
    assert row.status == "failed"
    assert row.error is not None and "outside the workspace" in row.error["message"]
    assert not (get_scaffolder(engine).workspaces.parent / "x").exists()


def test_unknown_actions_are_refused_when_the_task_is_created(
    engine: Platform, tmp_path: Path
) -> None:
    ref = _register_template(
        engine, tmp_path, "unknown", "    - {id: a, name: A, action: nope:missing}"
    )
    with pytest.raises(InputError, match="nope:missing"):
        get_scaffolder(engine).create_task(ref, {"name": "x"})


def test_cancel_stops_a_running_step(engine: Platform, tmp_path: Path) -> None:
    steps = """
    - {id: wait, name: Wait, action: test:sleep, input: {seconds: 60}}
    - {id: after, name: After, action: test:echo, input: {message: never}}
    """
    ref = _register_template(engine, tmp_path, "slow", steps)
    service = get_scaffolder(engine)
    task_id = service.create_task(ref, {"name": "x"})
    with Worker(engine.tasks, concurrency=1, poll_interval=0.05):
        deadline = time.monotonic() + 20
        while service.get_task(task_id).steps.get("wait", {}).get("status") != "processing":
            assert time.monotonic() < deadline, "the step never started"
            time.sleep(0.05)
        started = time.monotonic()
        assert service.cancel(task_id).status == "cancelled"
        while service.get_task(task_id).finished_at is None:
            assert time.monotonic() - started < 10, "cancel was not noticed"
            time.sleep(0.05)
    row = service.get_task(task_id)
    assert row.status == "cancelled"
    assert row.steps["wait"]["status"] == "cancelled"
    assert "after" not in row.steps
    types = [e["type"] for e in service.events(task_id)]
    assert "cancelled" in types and types[-1] == "completion"


def test_cancel_before_start_closes_the_task(engine: Platform, tmp_path: Path) -> None:
    ref = _register_template(engine, tmp_path, "svc", DEFAULT_STEPS)
    service = get_scaffolder(engine)
    task_id = service.create_task(ref, {"name": "x"})
    assert service.cancel(task_id).status == "cancelled"
    engine.tasks.run_until_idle(timeout=30)
    row = service.get_task(task_id)
    assert row.status == "cancelled" and row.finished_at is not None and row.steps == {}


# ---------------------------------------------------------------------- HTTP API
@pytest.fixture
def client(engine: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(engine)) as c:
        yield c


def test_api_shapes(client: TestClient, engine: Platform, tmp_path: Path) -> None:
    _register_template(engine, tmp_path, "svc", DEFAULT_STEPS)
    schema = client.get("/api/scaffolder/v2/templates/default/template/svc/parameter-schema")
    assert schema.status_code == 200
    assert [s["title"] for s in schema.json()["steps"]] == ["Basics", "Access"]

    actions = {a["id"]: a for a in client.get("/api/scaffolder/v2/actions").json()}
    assert actions["test:write"]["schema"]["input"]["required"] == ["path"]

    bad = client.post(
        "/api/scaffolder/v2/tasks",
        json={"templateRef": "template:default/svc", "values": {"name": "BAD"}},
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "name"

    created = client.post(
        "/api/scaffolder/v2/tasks",
        json={"templateRef": "template:default/svc", "values": {"name": "web"}},
    )
    assert created.status_code == 201
    task_id = created.json()["id"]

    # The stream is consumed while a worker runs the task; it ends with the completion.
    result: dict[str, Any] = {}

    def consume() -> None:
        with client.stream("GET", f"/api/scaffolder/v2/tasks/{task_id}/eventstream") as response:
            result["type"] = response.headers["content-type"]
            result["text"] = "".join(response.iter_text())

    reader = threading.Thread(target=consume)
    reader.start()
    engine.tasks.run_until_idle(timeout=60)
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert result["type"].startswith("text/event-stream")
    blocks = [b for b in result["text"].split("\n\n") if b.startswith("event:")]
    assert blocks[0].startswith("event: log\ndata: ")
    assert blocks[-1].startswith("event: completion\n")

    task = client.get(f"/api/scaffolder/v2/tasks/{task_id}").json()
    assert task["status"] == "completed"
    assert task["spec"]["templateInfo"]["entityRef"] == "template:default/svc"
    assert task["output"]["links"][0]["url"] == "https://example.test/web"

    events = client.get(f"/api/scaffolder/v2/tasks/{task_id}/events").json()
    assert {"id", "taskId", "body", "type", "createdAt"} <= set(events[0])
    later = client.get(f"/api/scaffolder/v2/tasks/{task_id}/events?after={events[-2]['id']}")
    assert [e["type"] for e in later.json()] == ["completion"]

    listed = client.get("/api/scaffolder/v2/tasks?status=completed").json()
    assert listed["totalTasks"] == 1 and listed["tasks"][0]["id"] == task_id
    assert client.get("/api/scaffolder/v2/tasks/nope").status_code == 404
    assert client.post(f"/api/scaffolder/v2/tasks/{task_id}/retry").status_code == 409


def test_dry_run_returns_files_and_log_without_side_effects(
    client: TestClient, engine: Platform
) -> None:
    template = {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "dry"},
        "spec": {
            "owner": "team-platform",
            "type": "service",
            "parameters": {"properties": {"name": {"type": "string"}}},
            "steps": [
                {
                    "id": "write",
                    "name": "Write",
                    "action": "test:write",
                    "input": {"path": "${{ parameters.name }}/hello.txt", "content": "hi"},
                },
                {"id": "effect", "name": "Effect", "action": "test:side-effect"},
            ],
            "output": {"text": [{"title": "t", "content": "${{ parameters.name }}"}]},
        },
    }
    skeleton = {"path": "skeleton/a.txt", "base64Content": base64.b64encode(b"x").decode()}
    response = client.post(
        "/api/scaffolder/v2/dry-run",
        json={"template": template, "values": {"name": "demo"}, "directoryContents": [skeleton]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [f["path"] for f in body["directoryContents"]] == ["demo/hello.txt"]
    assert base64.b64decode(body["directoryContents"][0]["base64Content"]) == b"hi"
    messages = [entry["body"]["message"] for entry in body["log"]]
    assert "Skipping because test:side-effect does not support dry-run" in messages
    assert body["output"]["text"][0]["content"] == "demo"
    assert not (engine.settings.data_dir / engine_plugin.SIDE_EFFECTS).exists()
    assert client.get("/api/scaffolder/v2/tasks").json()["totalTasks"] == 0
    dry_runs = get_scaffolder(engine).workspaces.parent / "dry-runs"
    assert not dry_runs.exists() or not any(dry_runs.iterdir())

    escape = client.post(
        "/api/scaffolder/v2/dry-run",
        json={
            "template": template,
            "values": {"name": "demo"},
            "directoryContents": [{"path": "../escape.txt", "base64Content": ""}],
        },
    )
    assert escape.status_code == 403
