"""The portal's /create gallery and task pages."""

from __future__ import annotations

from fastapi.testclient import TestClient

from goldpath.app import create_app
from goldpath.core.platform import Platform
from goldpath.scaffolder.service import get_scaffolder


def test_gallery_task_page_and_links(platform: Platform) -> None:
    platform.plugins.hook.goldpath_demo_data(platform=platform)
    with TestClient(create_app(platform)) as client:
        page = client.get("/create")
        assert page.status_code == 200
        html = page.text
        assert 'href="/create"' in html  # in the navigation
        assert "Python library" in html and "v1.0.0" in html
        assert "goldpath create python-library --set name=… --set description=… --set owner=…" in (
            html
        )
        assert "No runs yet." in html

        task_id = get_scaffolder(platform).create_task(
            "template:default/python-library",
            {
                "name": "tax-rules",
                "description": "Tax rules",
                "owner": "group:default/team-payments",
            },
        )
        platform.tasks.run_until_idle(timeout=120)
        task = client.get(f"/create/tasks/{task_id}")
        assert task.status_code == 200
        assert "<strong>completed</strong>" in task.text
        assert "Publish to hosted git <code>publish:git</code>: completed" in task.text
        assert 'href="/catalog/default/component/tax-rules"' in task.text
        assert "/git/larkspur/tax-rules.git" in task.text
        assert f'href="/create/tasks/{task_id}"' in client.get("/create").text

        missing = client.get("/create/tasks/nope")
        assert missing.status_code == 404 and "task nope" in missing.text
