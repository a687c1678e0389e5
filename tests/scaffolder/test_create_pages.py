"""The portal's create flow on the built-in golden paths and the demo organisation: the
gallery, the http-service form (pickers, validation beside each field, review), the task it
starts and the pages for things that do not exist."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from portal_html import options, parse, selected, step, unlabelled

from goldpath.app import create_app
from goldpath.catalog.service import get_catalog
from goldpath.core.platform import Platform
from goldpath.scaffolder.pages import recent_tasks
from goldpath.scaffolder.service import get_scaffolder
from goldpath.templates import plugin as templates_plugin

HTTP_SERVICE = "/create/templates/default/http-service"


@pytest.fixture
def portal(platform: Platform) -> Iterator[TestClient]:
    templates_plugin.install(platform)
    platform.plugins.hook.goldpath_demo_data(platform=platform)
    with TestClient(create_app(platform)) as client:
        yield client


def _cards(html: str) -> dict[str, str]:
    """Template ref → card title, for the cards a gallery page shows."""
    page = parse(html)
    return {
        c.attrs["data-template"]: c.one("h2").text
        for c in page.find_all("li", data_testid="template-card")
    }


def test_gallery_lists_the_built_in_templates_and_filters_them(portal: TestClient) -> None:
    page = portal.get("/create")
    assert page.status_code == 200
    cards = _cards(page.text)
    for ref in (
        "template:default/http-service",
        "template:default/worker",
        "template:default/event-consumer",
        "template:default/python-library",
    ):
        assert ref in cards, ref
    assert cards["template:default/http-service"] == "HTTP service (Python, FastAPI)"
    tree = parse(page.text)
    http = tree.one("li", data_template="template:default/http-service")
    assert http.one("h2").one("a").attrs["href"] == HTTP_SERVICE
    assert http.one("a", class_="btn btn-primary").attrs["href"] == HTTP_SERVICE
    assert http.one(data_testid="template-version").text == "v1.0.0"
    assert {t.text for t in http.find_all("span", class_="tag")} >= {"fastapi", "golden-path"}
    assert "service" in http.text and "group:default/platform-team" in http.text
    assert unlabelled(tree) == []
    assert "No runs yet." in page.text

    by_type = _cards(portal.get("/create", params={"type": "library"}).text)
    assert list(by_type) == ["template:default/python-library"]
    by_tags = _cards(portal.get("/create", params=[("tag", "python"), ("tag", "redis")]).text)
    assert list(by_tags) == ["template:default/worker"]
    by_text = _cards(portal.get("/create", params={"q": "fastapi"}).text)
    assert list(by_text) == ["template:default/http-service"]
    nothing = portal.get("/create", params={"q": "cobol mainframe"})
    assert _cards(nothing.text) == {} and "No template matches these filters" in nothing.text
    # The filter form keeps what was chosen.
    chosen = parse(portal.get("/create", params={"type": "service", "tag": "redis"}).text)
    assert selected(chosen.by_id("template-type")) == ["service"]
    assert "checked" in chosen.one("input", name="tag", value="redis").attrs


def test_unknown_template_and_task_get_a_friendly_404(portal: TestClient) -> None:
    for path, what in (
        ("/create/templates/default/nope", "template:default/nope"),
        ("/create/templates/default/Not%20A%20Name", "template:default/Not A Name"),
        ("/create/tasks/nope", "task nope"),
    ):
        page = portal.get(path)
        assert page.status_code == 404, path
        found = parse(page.text).one(data_testid="not-found")
        assert what in found.text and "Nothing here" in found.text
        assert found.find_all("a", href="/create")
    assert portal.post("/create/tasks/nope/cancel").status_code == 404
    assert portal.get("/create/tasks/nope/events").status_code == 404


@pytest.mark.slow  # the demo's docs are built when the queue runs: about 10 s
def test_http_service_form_validates_beside_each_field_and_creates_the_service(
    portal: TestClient, platform: Platform
) -> None:
    first = portal.get(HTTP_SERVICE)
    assert first.status_code == 200
    page = parse(first.text)
    assert unlabelled(page) == []
    labels = {n.attrs["for"]: n.text for n in page.find_all("label")}
    assert labels["f-name"].startswith("Name") and "(required)" in labels["f-name"]
    assert labels["f-description"].startswith("Description")
    assert labels["f-owner"].startswith("Owner") and labels["f-system"] == "System"
    name = page.by_id("f-name")
    assert "autofocus" in name.attrs and name.attrs["aria-required"] == "true"
    assert "f-name-help" in name.attrs["aria-describedby"]
    assert page.by_id("f-name-help").text == "For example: payment-service"
    assert page.by_id("f-description").attrs["maxlength"] == "200"
    assert [s.text for s in page.one("ol", class_="stepper").find_all("li")] == [
        "1 About the service",
        "2 Dependencies",
        "3 Review",
    ]

    # OwnerPicker: the demo's groups (catalogFilter kind Group), no users, no systems.
    owners = options(page.by_id("f-owner"))
    assert owners["group:default/team-payments"] == "Payments (team-payments)"
    assert {"group:default/team-checkout", "group:default/platform-team"} <= set(owners)
    assert not [v for v in owners if v.startswith(("user:", "system:"))]
    systems = options(page.by_id("f-system"))
    assert "system:default/payments-core" in systems
    assert all(v == "" or v.startswith("system:") for v in systems)

    # A bad name and no owner: the page comes back with each problem beside its field.
    bad = step(portal, HTTP_SERVICE, first, {"name": "Payment Service", "description": "Pays"})
    assert bad.status_code == 422
    page = parse(bad.text)
    name = page.by_id("f-name")
    assert name.attrs["value"] == "Payment Service"  # kept as typed
    assert name.attrs["aria-invalid"] == "true"
    assert name.attrs["aria-describedby"].split()[0] == "f-name-error"
    error = page.by_id("f-name-error").text
    assert error.startswith("Name must match ^[a-z]") and "For example: payment-service" in error
    assert page.by_id("f-owner").attrs["aria-invalid"] == "true"
    assert page.by_id("f-owner-error").text == "Owner is required"
    assert page.by_id("f-description").attrs["value"] == "Pays"
    assert "aria-invalid" not in page.by_id("f-description").attrs
    summary = page.one(data_testid="form-errors")
    assert [a.attrs["href"] for a in summary.find_all("a")] == ["#f-name", "#f-owner"]
    assert "autofocus" in name.attrs  # the first problem gets the focus

    fixed = step(
        portal,
        HTTP_SERVICE,
        bad,
        {"name": "payment-service", "owner": "group:default/team-payments"},
    )
    assert fixed.status_code == 200
    page = parse(fixed.text)
    assert page.one("h2", class_="page-title").text == "Dependencies"
    assert selected(page.by_id("f-database")) == ["none"]  # the default
    assert page.by_id("f-grafanaUrl").attrs["value"] == "https://grafana.internal"

    # Back keeps the first page's answers; forward again, then to the review.
    back = step(portal, HTTP_SERVICE, fixed, {"database": "postgres"}, action="back")
    page = parse(back.text)
    assert page.by_id("f-name").attrs["value"] == "payment-service"
    assert selected(page.by_id("f-owner")) == ["group:default/team-payments"]
    again = step(portal, HTTP_SERVICE, back)
    assert selected(parse(again.text).by_id("f-database")) == ["postgres"]
    review = step(portal, HTTP_SERVICE, again, {"cache": "redis"})
    assert review.status_code == 200
    page = parse(review.text)
    shown = {td.attrs["data-testid"]: td.text for td in page.find_all("td")}
    assert shown["review-name"] == "payment-service"
    assert shown["review-owner"] == "Payments (team-payments) · group:default/team-payments"
    assert shown["review-database"] == "postgres" and shown["review-cache"] == "redis"
    assert shown["review-system"] == "not given"
    assert page.one("button", value="create").text == "Create"
    assert page.one("button", value="back").text == "Back"

    created = step(portal, HTTP_SERVICE, review, action="create")
    assert created.status_code == 303
    task_url = created.headers["location"]
    assert task_url.startswith("/create/tasks/")
    task_id = task_url.rsplit("/", 1)[1]
    task = get_scaffolder(platform).get_task(task_id)
    assert task.spec["parameters"]["name"] == "payment-service"
    assert task.spec["parameters"]["owner"] == "group:default/team-payments"

    waiting = portal.get(task_url)
    page = parse(waiting.text)
    live = page.by_id("task-live")
    assert live.attrs["sse-connect"].startswith(f"/create/tasks/{task_id}/events")
    assert page.one("head").one("noscript").one("meta").attrs["http-equiv"] == "refresh"
    assert page.one(data_testid="step-publish").attrs["data-status"] == "pending"
    assert page.one(data_testid="cancel-task")

    platform.tasks.run_until_idle(timeout=180)
    done = portal.get(task_url)
    page = parse(done.text)
    assert page.one(data_testid="task-status").one("span").text == "completed"
    assert "sse-connect" not in page.by_id("task-live").attrs
    assert not page.one("head").find_all("noscript")
    assert not page.find_all(data_testid="cancel-task")
    steps = {
        li.attrs["data-testid"]: li.attrs["data-status"]
        for li in page.find_all("li")
        if li.attrs.get("data-testid", "").startswith("step-")
    }
    assert steps["step-publish"] == "completed" and steps["step-register"] == "completed"
    assert steps["step-without-database"] == "skipped"  # postgres was chosen
    assert (
        "ms" in page.one(data_testid="step-publish").text
        or " s" in page.one(data_testid="step-publish").text
    )
    links = {a.text: a.attrs["href"] for a in page.one(data_testid="task-links").find_all("a")}
    assert links["Open in catalog"] == "/catalog/default/component/payment-service"
    assert links["Repository"].endswith("/git/services/payment-service.git")
    entity = get_catalog(platform).queries.by_name("component", "default", "payment-service")
    assert entity["spec"]["owner"] == "group:default/team-payments"
    log = page.by_id("task-log").text
    assert "Beginning step Publish to hosted git" in log

    runs = parse(portal.get("/create/tasks").text).one(data_testid="tasks-table")
    assert runs.find_all("a", href=task_url) and "HTTP service (Python, FastAPI)" in runs.text
    recent = recent_tasks(platform, 3)
    assert recent[0]["id"] == task_id and recent[0]["status"] == "completed"
    assert recent[0]["templateTitle"] == "HTTP service (Python, FastAPI)"
    assert recent[0]["href"] == task_url
    assert parse(portal.get("/create").text).find_all("a", href=task_url)
