"""A task whose worker process dies ends ``failed`` with a clear reason; it never hangs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from goldpath.catalog.service import get_catalog
from goldpath.core.platform import Platform
from goldpath.scaffolder.service import get_scaffolder

TEMPLATE = """
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: long-wait}
spec:
  owner: team-platform
  type: service
  parameters: {properties: {token: {type: string, ui:field: Secret}}}
  steps:
    - {id: hello, name: Hello, action: debug:log, input: {message: starting}}
    - {id: wait, name: Wait a long time, action: debug:wait, input: {seconds: 120}}
"""


@pytest.mark.slow
def test_a_killed_worker_leaves_a_failed_task_with_the_reason(
    platform: Platform, tmp_path: Path, database_url: str
) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    get_catalog(platform).add_location("file", str(path))
    platform.tasks.run_until_idle(timeout=30)
    service = get_scaffolder(platform)
    task_id = service.create_task(
        "template:default/long-wait", {}, {"token": "kept-encrypted-only"}
    )

    config = tmp_path / "goldpath.yaml"
    config.write_text(
        f"plugins: {{scaffolder: {{workspace_dir: '{service.workspaces.parent}'}}}}\n"
    )
    env = {
        **os.environ,
        "GOLDPATH_CONFIG": str(config),
        "GOLDPATH_DATA_DIR": str(platform.settings.data_dir),
        "GOLDPATH_DATABASE_URL": database_url,
        "GOLDPATH_WORKER_LEASE_SECONDS": "1",
        "GOLDPATH_WORKER_POLL_INTERVAL_SECONDS": "0.1",
        "GOLDPATH_LOG_LEVEL": "warning",
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "goldpath", "worker"], env=env, stdout=log, stderr=log
    )
    try:
        # Generous: a worker process starting on a loaded 2-core machine can take a while.
        deadline = time.monotonic() + 180
        while service.get_task(task_id).steps.get("wait", {}).get("status") != "processing":
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, "the worker never reached the wait step"
            time.sleep(0.05)
        # The dead worker's workspace is where this process will look for it.
        assert (service.workspaces / task_id).is_dir()
        os.kill(worker.pid, signal.SIGKILL)  # no chance to clean up: a real crash
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
        log.close()

    assert service.get_task(task_id).status == "processing"
    # Once the dead worker's lease has passed, the queue hands the run over; the scaffolder
    # sees a task that was already processing and ends it instead of re-running its steps.
    deadline = time.monotonic() + 30
    while service.get_task(task_id).status == "processing":
        assert time.monotonic() < deadline, "the task stayed processing"
        platform.tasks.recover_expired()
        platform.tasks.run_until_idle(timeout=30)
        time.sleep(0.2)
    row = service.get_task(task_id)
    assert row.status == "failed"
    assert row.error is not None and "stopped before the task finished" in row.error["message"]
    assert row.steps["hello"]["status"] == "completed"
    assert row.steps["wait"]["status"] == "failed"
    types = [e["type"] for e in service.events(task_id)]
    assert types[-2:] == ["recovered", "completion"]
    assert service.store.secrets_ciphertext(task_id) is None
    assert not (service.workspaces / task_id).exists()
