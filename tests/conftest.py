"""Shared test setup: the Keras backend comes from KERAS_BACKEND; `make test` runs the suite
once per backend and the backend-independent tests only in the first of those runs."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("COLORKIT_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))


def pytest_collection_modifyitems(config, items):
    if os.environ.get("COLORKIT_SKIP_BACKEND_INDEPENDENT") != "1":
        return
    skip = pytest.mark.skip(reason="backend-independent: already run under the first backend")
    for item in items:
        if "backend_independent" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config):
    return f"KERAS_BACKEND={os.environ.get('KERAS_BACKEND', '(unset: tensorflow)')}"


def shared_dataset(name):
    """The real dataset folder shipped beside the repository, or a skip saying why it is absent."""
    path = SHARED_DATASETS / name
    if not path.is_dir():
        pytest.skip(f"real dataset {name} not found at {path} (set COLORKIT_SHARED_DATASETS)")
    return path
