"""The demo organisation's golden path runs end to end: skeleton → hosted git → catalog."""

from __future__ import annotations

import subprocess
from pathlib import Path

from goldpath.catalog.service import get_catalog
from goldpath.core.platform import Platform
from goldpath.scaffolder.service import get_scaffolder


def test_python_library_template_creates_a_repository_and_a_component(
    platform: Platform, tmp_path: Path
) -> None:
    platform.plugins.hook.goldpath_demo_data(platform=platform)
    service = get_scaffolder(platform)
    task_id = service.create_task(
        "template:default/python-library",
        {
            "name": "price-rounding",
            "description": "Rounds prices the way buyers expect",
            "owner": "group:default/team-checkout",
            "system": "system:default/checkout",
        },
    )
    platform.tasks.run_until_idle(timeout=120)
    task = service.get_task(task_id)
    assert task.status == "completed", service.events(task_id)[-3:]
    assert task.output is not None
    links = {link["title"]: link for link in task.output["links"]}
    assert links["Open in catalog"]["entityRef"] == "component:default/price-rounding"

    # The entity is in the catalog, with the answers rendered into it.
    entity = get_catalog(platform).queries.by_name("component", "default", "price-rounding")
    assert entity["spec"]["owner"] == "group:default/team-checkout"
    assert entity["spec"]["system"] == "system:default/checkout"
    assert entity["metadata"]["description"] == "Rounds prices the way buyers expect"

    # The repository holds the rendered skeleton, as a stock git clone shows.
    bare = platform.settings.data_dir / "git" / "larkspur" / "price-rounding.git"
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(bare), str(clone)], check=True)
    module = clone / "src" / "price_rounding" / "__init__.py"
    assert "def greet" in module.read_text()
    assert "${{" not in (clone / "pyproject.toml").read_text()
    assert (clone / "tests" / "test_greet.py").read_text().startswith("from price_rounding import")
