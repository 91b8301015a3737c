"""Shared test setup: the Keras backend comes from KERAS_BACKEND; `make test` runs the suite
once per backend and the backend-independent tests only in the first of those runs."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from helpers import REPO, SHARED_DATASETS, shared_dataset  # noqa: F401  (re-exported: older imports)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("COLORKIT_SKIP_BACKEND_INDEPENDENT") != "1":
        return
    skip = pytest.mark.skip(reason="backend-independent: already run under the first backend")
    for item in items:
        if "backend_independent" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config):
    return f"KERAS_BACKEND={os.environ.get('KERAS_BACKEND', '(unset: tensorflow)')}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyter_lab(tmp_path):
    """A JupyterLab server rooted at tmp_path (the browser tests): yields its base URL with the token."""
    port, token = free_port(), "colorkit-test"
    # User settings of our own: start the notebook's kernel without asking, fetch no news.
    settings = tmp_path / ".settings" / "@jupyterlab"
    for plugin, values in (("notebook-extension/tracker", {"autoStartDefaultKernel": True}),
                           ("apputils-extension/notification", {"fetchNews": "false"})):
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / ".jupyter"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / ".runtime"), "JUPYTERLAB_SETTINGS_DIR": str(settings.parent)}
    log = tmp_path / "server.log"
    with open(log, "w") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}",
             f"--LabApp.workspaces_dir={tmp_path / '.workspaces'}",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             "--LabApp.extension_manager=readonly", "--allow-root"],
            env=env, stdout=subprocess.DEVNULL, stderr=log_file)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start: {log.read_text()[-2000:]}")
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}", token
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
