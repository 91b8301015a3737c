"""environment.yml is a thin layer over pyproject.toml: they must agree."""

import re
import tomllib

import pytest
import yaml
from helpers import REPO

pytestmark = pytest.mark.backend_independent


def test_environment_yml_installs_the_package_from_pyproject_and_pins_nothing_else():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert env["name"] == "colorkit"
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = [d for d in env["dependencies"] if isinstance(d, dict)]
    python = [d for d in conda if d.startswith("python")]
    assert python and sorted(conda) == sorted(python + ["pip"]), "only python and pip come from conda"
    minimum = re.search(r">=\s*(\d+\.\d+)", project["requires-python"]).group(1)
    version = python[0].split("=")[-1]
    assert tuple(map(int, version.split("."))) >= tuple(map(int, minimum.split(".")))
    extras = set(project["optional-dependencies"])
    assert pip == [{"pip": [f"-e .[{','.join(sorted(extras))}]"]}]


def test_test_constraints_pin_the_cpu_torch_that_the_package_range_allows():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    torch_range = next(d for d in project["dependencies"] if d.startswith("torch"))
    pins = [line for line in (REPO / "constraints-test.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    assert pins == ["torch==2.13.0"]
    from packaging.specifiers import SpecifierSet

    assert "2.13.0" in SpecifierSet(torch_range.removeprefix("torch"))
