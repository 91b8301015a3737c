"""pyproject.toml's extras, the Makefile's install and environment.yml must agree, and so must the version."""

import re
import tomllib

import pytest
import yaml
from helpers import REPO

pytestmark = pytest.mark.backend_independent
BACKENDS = ("tensorflow", "jax", "torch")


def _project():
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _names(requirements):
    return {re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].lower() for r in requirements}


def _makefile_extras():
    installs = re.findall(r"pip install .*-e '\.\[([^\]]+)\]'", (REPO / "Makefile").read_text())
    assert len(installs) == 1, "the Makefile installs the package once"
    return installs[0].split(",")


def test_backend_extras_each_bring_one_framework_and_the_notebooks_and_all_brings_every_one():
    project = _project()
    extras = project["optional-dependencies"]
    assert not _names(project["dependencies"]) & {"tensorflow", "jax", "torch", "jupyterlab", "papermill"}
    for backend in BACKENDS:
        assert "colorkit[notebooks]" in extras[backend]
        assert _names(extras[backend]) & set(BACKENDS) == {backend}
    assert extras["all"] == [f"colorkit[{','.join(BACKENDS)}]"]


def test_makefile_and_environment_yml_install_every_backend_and_the_dev_tools():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    project = _project()
    assert env["name"] == "colorkit"
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = [d for d in env["dependencies"] if isinstance(d, dict)]
    python = [d for d in conda if d.startswith("python")]
    assert python and sorted(conda) == sorted(python + ["pip"]), "only python and pip come from conda"
    minimum = re.search(r">=\s*(\d+\.\d+)", project["requires-python"]).group(1)
    version = python[0].split("=")[-1]
    assert tuple(map(int, version.split("."))) >= tuple(map(int, minimum.split(".")))
    extras = _makefile_extras()
    assert sorted(extras) == ["all", "dev"] and set(extras) <= set(project["optional-dependencies"])
    assert pip == [{"pip": [f"-e .[{','.join(extras)}]"]}]


def test_test_constraints_pin_the_cpu_torch_that_the_torch_extra_allows():
    torch_extra = _project()["optional-dependencies"]["torch"]
    torch_range = next(d for d in torch_extra if d.startswith("torch"))
    pins = [line for line in (REPO / "constraints-test.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    assert pins == ["torch==2.13.0"]
    from packaging.specifiers import SpecifierSet

    assert "2.13.0" in SpecifierSet(torch_range.removeprefix("torch"))


def test_version_is_the_package_version(capsys):
    import colorkit
    from colorkit.cli import main

    assert colorkit.__version__ == _project()["version"]
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"colorkit {colorkit.__version__}"
