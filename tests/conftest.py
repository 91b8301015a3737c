"""Shared test setup: the Keras backend comes from KERAS_BACKEND; `make test` runs the suite
once per backend and the backend-independent tests only in the first of those runs."""

import os

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

