"""The create form on templates of our own: every kind of question, secrets that never reach
a page, conditional pages, and a running task's live page (SSE), cancel and retry."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from portal_html import Node, options, parse, selected, step, unlabelled

from goldpath.app import create_app
from goldpath.catalog.service import get_catalog
from goldpath.core.platform import Platform
from goldpath.core.tasks import Worker
from goldpath.scaffolder.service import get_scaffolder

SINK = "/create/templates/default/kitchen-sink"
TOKEN = "tok-Zq81-never-shown"
PASSWORD = "pw-Lk44-never-shown"

KITCHEN_SINK = """
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: kitchen-sink
  title: Kitchen sink
  description: Every kind of question the portal's form asks.
  tags: [test, forms]
  annotations: {goldpath.dev/template-version: 0.3.0}
spec:
  owner: group:default/platform-team
  type: test-form
  parameters:
    - title: Basics
      required: [name, token]
      properties:
        name: {title: Name, type: string, pattern: '^[a-z][a-z0-9-]*$', ui:placeholder: my-app,
               ui:autofocus: true}
        token: {title: API token, type: string, ui:field: Secret}
        password: {title: Admin password, type: string, ui:widget: password}
        replicas: {title: Replicas, type: integer, minimum: 1, maximum: 5, default: 2}
        notes: {title: Notes, type: string, ui:widget: textarea}
        public: {title: Public, type: boolean, default: false}
        tier: {title: Tier, type: string, enum: [s, m], enumNames: [Small, Medium], default: s}
        regions: {title: Regions, type: array, items: {type: string}}
        code: {title: Code, type: string, pattern: '^[A-Z]{3}$',
               errorMessage: Codes are three capital letters}
    - title: Storage
      properties:
        database: {title: Database, type: string, enum: [none, postgres], default: none}
        partOf:
          title: Part of
          type: string
          ui:field: EntityPicker
          ui:options:
            catalogFilter: [{kind: System}, {kind: Component, spec.type: service}]
            allowArbitraryValues: true
        limits:
          title: Limits
          type: object
          properties:
            cpu: {title: CPU, type: string, default: 500m}
            memory: {title: Memory, type: string, pattern: '^[0-9]+Mi$'}
      dependencies:
        database:
          oneOf:
            - properties: {database: {enum: [none]}}
            - properties:
                database: {enum: [postgres]}
                size: {title: Size, type: string, enum: [small, large]}
              required: [size]
    - title: Where
      required: [repoUrl]
      properties:
        repoUrl: {title: Repository, type: string, ui:field: RepoUrlPicker,
                  ui:options: {allowedHosts: [goldpath, github.com]}}
  steps:
    - id: hello
      name: Say hello
      action: debug:log
      input:
        message: >-
          hello ${{ parameters.name }} with ${{ secrets.token }}
          (${{ secrets.token | length }} characters)
    - id: wait
      name: Wait
      action: debug:wait
      input:
        milliseconds: ${{ parameters.replicas * 600 }}
    - id: bye
      name: Say goodbye
      action: debug:log
      input: {message: 'bye ${{ parameters.repoUrl }}'}
  output:
    links:
      - {title: Docs, url: 'https://example.test/${{ parameters.name }}'}
      - {title: Owners, entityRef: 'group:default/platform-team'}
      - {title: Sneaky, url: 'javascript:alert(1)'}
    text:
      - title: Summary
        content: Made ${{ parameters.name }} with ${{ parameters.replicas }} replicas
"""


def _register(platform: Platform, folder: Path, text: str) -> None:
    folder.mkdir(parents=True)
    (folder / "template.yaml").write_text(textwrap.dedent(text))
    get_catalog(platform).add_location("file", str(folder / "template.yaml"))
    platform.tasks.run_until_idle(timeout=30)


@pytest.fixture
def client(platform: Platform, tmp_path: Path) -> Iterator[TestClient]:
    _register(platform, tmp_path / "templates" / "kitchen-sink", KITCHEN_SINK)
    conditional = Path(__file__).parent / "data" / "backstage-conditional-pages.yaml"
    _register(platform, tmp_path / "templates" / "cloud", conditional.read_text())
    with TestClient(create_app(platform)) as c:
        yield c


def _no_secrets(*responses: httpx.Response) -> None:
    for response in responses:
        assert TOKEN not in response.text and PASSWORD not in response.text, response.url


def _fill_basics(client: TestClient) -> httpx.Response:
    return step(
        client,
        SINK,
        client.get(SINK),
        {"name": "web", "token": TOKEN, "password": PASSWORD, "code": "ABC"},
    )


def test_every_kind_of_question_has_its_input(client: TestClient) -> None:
    first = client.get(SINK)
    page = parse(first.text)
    assert unlabelled(page) == []
    name = page.by_id("f-name")
    assert name.attrs["placeholder"] == "my-app" and "autofocus" in name.attrs
    for secret in ("f-token", "f-password"):
        assert page.by_id(secret).attrs["type"] == "password"
        assert page.by_id(secret).attrs["value"] == ""
    replicas = page.by_id("f-replicas")
    assert (replicas.attrs["type"], replicas.attrs["value"]) == ("number", "2")
    assert (replicas.attrs["min"], replicas.attrs["max"], replicas.attrs["step"]) == ("1", "5", "1")
    assert page.by_id("f-notes").tag == "textarea"
    assert page.by_id("f-public").attrs["type"] == "checkbox"
    assert options(page.by_id("f-tier")) == {"s": "Small", "m": "Medium"}
    assert selected(page.by_id("f-tier")) == ["s"]
    assert page.by_id("f-regions").tag == "textarea"

    # A template's own message for a pattern; a list, a number, a checkbox read back.
    bad = step(
        client,
        SINK,
        first,
        {
            "name": "web",
            "token": TOKEN,
            "code": "abc",
            "replicas": "9",
            "regions": "eu\n\nus \n",
            "public": ["false", "true"],
        },
    )
    assert bad.status_code == 422
    page = parse(bad.text)
    assert page.by_id("f-code-error").text == "Codes are three capital letters"
    assert page.by_id("f-replicas-error").text == "Replicas must be at most 5"
    assert page.by_id("f-regions").raw.strip() == "eu\nus"
    assert "checked" in page.by_id("f-public").attrs
    assert not page.find_all(id="f-name-error") and not page.find_all(id="f-token-error")

    storage = step(client, SINK, bad, {"code": "ABC", "replicas": "3"})
    page = parse(storage.text)
    assert page.one("h2", class_="page-title").text == "Storage"
    # The field a dependency brings in is shown, with when it is asked.
    size = page.by_id("f-size")
    assert options(size) == {"": "(none)", "small": "small", "large": "large"}
    assert "when Database is postgres" in page.by_id("f-size-desc").text
    part_of = page.by_id("f-partOf")  # arbitrary values allowed: a text input with choices
    assert (
        part_of.attrs["list"] == "f-partOf-list" and page.by_id("f-partOf-list").tag == "datalist"
    )
    assert page.by_id("f-limits__cpu").attrs["name"] == "limits.cpu"
    assert page.by_id("f-limits__cpu").attrs["value"] == "500m"
    missing = step(
        client,
        SINK,
        storage,
        {"database": "postgres", "partOf": "system:default/elsewhere", "limits.memory": "lots"},
    )
    page = parse(missing.text)
    assert page.by_id("f-size-error").text == "Size is required"
    assert page.by_id("f-limits__memory-error").text.startswith("Memory must match ^[0-9]+Mi$")
    assert page.by_id("f-limits__memory").attrs["value"] == "lots"
    missing = step(client, SINK, missing, {"limits.memory": "256Mi"})

    where = step(client, SINK, missing, {"size": "large"})
    page = parse(where.text)
    assert options(page.by_id("f-repoUrl-host")) == {
        "goldpath": "goldpath (this portal's hosted git)",
        "github.com": "github.com",
    }
    half = step(client, SINK, where, {"repoUrl.owner": "acme"})
    assert "owner and a repository name" in parse(half.text).by_id("f-repoUrl-error").text
    review = step(client, SINK, half, {"repoUrl.host": "github.com", "repoUrl.repo": "web"})
    page = parse(review.text)
    shown = {td.attrs["data-testid"]: td.text for td in page.find_all("td")}
    assert shown["review-repoUrl"] == "acme/web on github.com"
    assert shown["review-tier"] == "Small" and shown["review-public"] == "Yes"
    assert shown["review-regions"] == "eu, us" and shown["review-size"] == "large"
    assert shown["review-replicas"] == "3" and shown["review-partOf"] == "system:default/elsewhere"
    assert shown["review-limits.cpu"] == "500m" and shown["review-limits.memory"] == "256Mi"
    ths = [th.text for th in page.find_all("th")]
    assert "Limits › Memory" in ths

    # Edit a page from the review: its answers are there; the repository is composed back.
    edit = step(client, SINK, review, action="edit:2")
    page = parse(edit.text)
    assert page.by_id("f-repoUrl-owner").attrs["value"] == "acme"
    assert selected(page.by_id("f-repoUrl-host")) == ["github.com"]


def test_secrets_never_appear_in_any_page(client: TestClient, platform: Platform) -> None:
    first = client.get(SINK)
    # A failed submit: the other answers come back, the secrets do not (but are kept).
    bad = step(client, SINK, first, {"name": "Bad", "token": TOKEN, "password": PASSWORD})
    page = parse(bad.text)
    assert page.by_id("f-name-error")
    assert page.by_id("f-token").attrs["value"] == ""
    assert "f-token-kept" in page.by_id("f-token").attrs["aria-describedby"]
    storage = step(client, SINK, bad, {"name": "web", "code": "ABC"})  # token left empty
    assert parse(storage.text).one("h2", class_="page-title").text == "Storage"
    where = step(client, SINK, storage)
    review = step(client, SINK, where, {"repoUrl.owner": "acme", "repoUrl.repo": "web"})
    page = parse(review.text)
    masked = page.one(data_testid="review-token")
    assert "••••" in masked.text and "secret" in masked.text
    assert "••••" in page.one(data_testid="review-password").text
    created = step(client, SINK, review, action="create")
    assert created.status_code == 303
    task_url = created.headers["location"]
    task_id = task_url.rsplit("/", 1)[1]
    running = client.get(task_url)
    platform.tasks.run_until_idle(timeout=60)
    done = client.get(task_url)
    events = client.get(f"/create/tasks/{task_id}/events")
    _no_secrets(first, bad, storage, where, review, running, done, events)
    _no_secrets(client.get("/create/tasks"), client.get("/create"))

    row = get_scaffolder(platform).get_task(task_id)
    assert row.status == "completed"
    assert "token" not in row.spec["parameters"] and "password" not in row.spec["parameters"]
    page = parse(done.text)
    # The secret reached the task (its length is logged), masked where it would show.
    log = page.by_id("task-log").text
    assert f"with *** ({len(TOKEN)} characters)" in log
    assert "bye goldpath?owner=acme&repo=web" in log
    links = {a.text: a.attrs["href"] for a in page.one(data_testid="task-links").find_all("a")}
    assert links == {
        "Docs": "https://example.test/web",
        "Owners": "/catalog/default/group/platform-team",
    }
    assert "javascript:alert(1)" in page.one(data_testid="task-links").text  # shown, not linked
    assert "Made web with 2 replicas" in page.one("pre", class_="task-text").text


def test_conditional_pages_follow_the_answers(client: TestClient, platform: Platform) -> None:
    url = "/create/templates/default/cloud-workload"
    first = client.get(url)
    steps = [li.text for li in parse(first.text).one("ol", class_="stepper").find_all("li")]
    assert steps == ["1 Pick a cloud", "2 Monitoring", "3 Review"]
    gcp = step(client, url, first, {"name": "batch", "cloud": "GCP"})
    page = parse(gcp.text)
    assert page.one("h2", class_="page-title").text == "GCP settings"
    assert selected(page.by_id("f-gcpRegion")) == ["europe-west1"]
    # Back, choose AWS: the GCP page (and its answers) drop out.
    back = step(client, url, gcp, {"projectId": "p-1"}, action="back")
    aws = step(client, url, back, {"cloud": "AWS"})
    assert parse(aws.text).one("h2", class_="page-title").text == "AWS settings"
    monitoring = step(client, url, aws, {"region": "eu-west-1"})
    alerting = step(client, url, monitoring, {"monitoring": ["false", "true"]})
    assert parse(alerting.text).one("h2", class_="page-title").text == "Alerting"
    bad = step(client, url, alerting, {"alertEmail": "not an address"})
    assert parse(bad.text).by_id("f-alertEmail-error").text == "Alert e-mail must be a valid email"
    review = step(client, url, bad, {"alertEmail": "ops@example.test"})
    titles = [h.text for h in parse(review.text).find_all("h3")]
    assert titles == ["Pick a cloud", "AWS settings", "Monitoring", "Alerting"]
    created = step(client, url, review, action="create")
    task_id = created.headers["location"].rsplit("/", 1)[1]
    parameters = get_scaffolder(platform).get_task(task_id).spec["parameters"]
    assert parameters["region"] == "eu-west-1" and "projectId" not in parameters
    assert parameters["threshold"] == 90  # a default of a page that is shown


def _events(text: str) -> list[tuple[str, str]]:
    """(event, data) pairs of an SSE body."""
    found = []
    for block in text.split("\n\n"):
        lines = block.split("\n")
        name = next((line[7:] for line in lines if line.startswith("event: ")), None)
        if name:
            data = "\n".join(line[6:] for line in lines if line.startswith("data: "))
            found.append((name, data))
    return found


def test_a_running_task_streams_its_steps_and_log(client: TestClient, platform: Platform) -> None:
    service = get_scaffolder(platform)
    task_id = service.create_task(
        "template:default/kitchen-sink",
        {"name": "live", "replicas": 3, "repoUrl": "goldpath?owner=o&repo=live"},
        {"token": TOKEN},
    )
    page = parse(client.get(f"/create/tasks/{task_id}").text)
    assert page.by_id("task-live").attrs["sse-connect"] == f"/create/tasks/{task_id}/events"
    result: dict[str, Any] = {}

    def consume() -> None:
        with client.stream("GET", f"/create/tasks/{task_id}/events") as response:
            result["type"] = response.headers["content-type"]
            result["text"] = "".join(response.iter_text())

    reader = threading.Thread(target=consume)
    reader.start()
    with Worker(platform.tasks, concurrency=1, poll_interval=0.05):
        reader.join(timeout=60)
    assert not reader.is_alive(), "the stream did not end with the task"
    assert result["type"].startswith("text/event-stream")
    events = _events(result["text"])
    names = [name for name, _ in events]
    assert names[-1] == "done" and names[-2] == "output"
    # The wait step was seen running (1.8 s), then completed, in order.
    states = [
        parse(data).one(data_testid="step-wait").attrs["data-status"]
        for name, data in events
        if name == "steps"
    ]
    assert "processing" in states and states[-1] == "completed"
    assert states.index("processing") < len(states) - 1
    log = "".join(data for name, data in events if name == "log")
    assert "Beginning step Wait" in log and "Finished step Say goodbye" in log
    assert TOKEN not in result["text"]
    summaries = [parse(data).text for name, data in events if name == "summary"]
    assert summaries[-1].startswith("completed")
    assert 'href="https://example.test/live"' in events[-2][1]

    # A browser reconnecting to the finished stream is told to stop (204); the page has no
    # stream any more.
    again = client.get(f"/create/tasks/{task_id}/events", headers={"Last-Event-ID": "3"})
    assert again.status_code == 204
    assert (
        "sse-connect"
        not in parse(client.get(f"/create/tasks/{task_id}").text).by_id("task-live").attrs
    )


def test_cancel_and_retry_from_the_task_page(client: TestClient, platform: Platform) -> None:
    service = get_scaffolder(platform)
    task_id = service.create_task(
        "template:default/kitchen-sink",
        {"name": "again", "replicas": 1, "repoUrl": "goldpath?owner=o&repo=again"},
        {"token": TOKEN},
    )
    url = f"/create/tasks/{task_id}"
    cancelled = client.post(f"{url}/cancel", follow_redirects=False)
    assert cancelled.status_code == 303 and cancelled.headers["location"] == url
    page = parse(client.get(url).text)
    assert page.one(data_testid="task-status").one("span").text == "cancelled"
    retry_form: Node = page.one(data_testid="retry-form")
    assert retry_form.by_id("retry-token").attrs["type"] == "password"
    retried = client.post(f"{url}/retry", data={"secret.token": TOKEN}, follow_redirects=False)
    assert retried.status_code == 303
    assert service.get_task(task_id).status == "open"
    platform.tasks.run_until_idle(timeout=60)
    done = client.get(url)
    assert parse(done.text).one(data_testid="task-status").one("span").text == "completed"
    assert f"({len(TOKEN)} characters)" in done.text
    conflict = client.post(f"{url}/retry")
    assert conflict.status_code == 409 and "only failed or cancelled" in conflict.text
    _no_secrets(done, conflict)
