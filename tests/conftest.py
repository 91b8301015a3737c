"""Shared test setup: the Keras backend comes from KERAS_BACKEND. `make test` runs the suite once per
backend (tests/run_backends.sh, with COLORKIT_ONE_PASS_PER_BACKEND=1): a backend-independent test then runs
in one pass only, its home, tensorflow unless its marker names another
(`pytest.mark.backend_independent(home="torch")`), so that the passes, side by side, end together."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from helpers import (  # noqa: F401
    REPO,
    SHARED_DATASETS,
    SMOKE,
    SMOKE_RUNS_HOME,
    colorkit_run,
    papermill,
    shared_dataset,
    write_smoke_params,
)

import colorkit  # noqa: F401  before any test module imports Keras: its quiet start-up (TF_CPP_MIN_LOG_LEVEL)

HOME_PASS = "tensorflow"  # where a backend-independent test runs unless its marker says otherwise


def runs_here(home=HOME_PASS):
    """Whether this session runs the backend-independent tests whose home is `home` (always, outside the
    per-backend passes of `make test`)."""
    return (os.environ.get("COLORKIT_ONE_PASS_PER_BACKEND") != "1"
            or os.environ.get("KERAS_BACKEND", "tensorflow") == home)


def pytest_collection_modifyitems(config, items):
    for item in items:
        marker = item.get_closest_marker("backend_independent")
        home = marker.kwargs.get("home", HOME_PASS) if marker else None
        if home and not runs_here(home):
            item.add_marker(pytest.mark.skip(reason=f"backend-independent: runs in the {home} pass"))


@pytest.fixture(scope="session")
def smoke_outputs(tmp_path_factory):
    """`colorkit run broken.yaml smoke.yaml`, once per session (test_runner and test_compare read it): the
    first run fails in its data cell, the second runs. In the pass whose backend-independent tests read
    more (SMOKE_RUNS_HOME), a third run beside them, smoke_wgangp (reading its images from the files), runs
    its two notebooks through the plain papermill CLI. Only the smoke run elsewhere. Returns (outputs
    folder, completed `colorkit run` process)."""
    folder = tmp_path_factory.mktemp("runs")
    outputs = folder / "outputs"
    if not runs_here(SMOKE_RUNS_HOME):
        return outputs, colorkit_run(SMOKE, "--outputs", outputs)
    broken = write_smoke_params(folder, "broken", max_train_images=4)  # fewer images than a batch
    result = colorkit_run(broken, SMOKE, "--outputs", outputs)
    wgangp = write_smoke_params(folder, "smoke_wgangp", model="wgangp", n_critic=2, data_path="stream")
    (outputs / "smoke_wgangp").mkdir()
    for notebook in ("train", "evaluate"):
        done = papermill(notebook, outputs / "smoke_wgangp" / f"{notebook}.ipynb", wgangp, "-p", "outputs_dir",
                         outputs)
        assert done.returncode == 0, f"papermill {notebook}: {done.stderr[-4000:]}"
    return outputs, result


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
