"""The parameter schema (the notebooks' `parameters` cells) and the checks on YAML files."""

import ast
import json

import pytest
import yaml
from helpers import REPO, SHARED_DATASETS

from colorkit import params
from colorkit.params import ParamsError, load_params

PARAM_FILES = sorted((REPO / "params").glob("*.yaml"))
pytestmark = pytest.mark.backend_independent


def write(tmp_path, text, name="run.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def parameter_lines(notebook):
    cells = json.loads(params.notebook_path(notebook).read_text())["cells"]
    cell = next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    return [line for line in "".join(cell["source"]).splitlines() if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("notebook", params.NOTEBOOKS)
def test_every_line_of_the_parameters_cell_is_parsed(notebook):
    # papermill skips a line it cannot parse (e.g. "=" in the comment) with only a log message.
    lines = parameter_lines(notebook)
    schema = params.notebook_schema(notebook)
    assert [line.split(":")[0] for line in lines] == list(schema)
    for key, spec in schema.items():
        assert spec["help"], f"{notebook}: {key} has no comment"


def test_keys_in_both_notebooks_are_declared_alike():
    train, evaluate = (params.notebook_schema(n) for n in params.NOTEBOOKS)
    shared = set(train) & set(evaluate)
    assert {"run_name", "outputs_dir"} <= shared
    for key in shared:
        assert train[key]["type"] == evaluate[key]["type"] and train[key]["default"] == evaluate[key]["default"]


def test_choices_in_comments_match_the_code():
    from colorkit.datasets import DATASETS
    from colorkit.gan import MODELS
    from colorkit.gan.schedules import SCHEDULES
    from colorkit.models import LAYOUTS
    from colorkit.models.layers import UPSAMPLING

    schema = params.schema()
    assert set(schema["model"]["choices"]) == set(MODELS)
    assert schema["dataset"]["choices"] == DATASETS
    assert schema["lr_schedule"]["choices"] == SCHEDULES
    assert schema["layout"]["choices"] == LAYOUTS
    assert set(schema["upsampling"]["choices"]) == set(UPSAMPLING)


def declared_parameters():
    """`{key: (type, default)}` read here from both notebooks' `parameters` cells (`key: type = value`),
    without papermill or colorkit.params."""
    declared = {}
    for notebook in ("train", "evaluate"):
        cells = json.loads((REPO / "notebooks" / f"{notebook}.ipynb").read_text())["cells"]
        cell = next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
        for node in ast.parse("".join(cell["source"])).body:
            assert isinstance(node, ast.AnnAssign), ast.unparse(node)
            kind = {"str": str, "int": int, "float": float, "bool": bool}[node.annotation.id]
            declared[node.target.id] = (kind, ast.literal_eval(node.value))
    return declared


@pytest.mark.parametrize("path", PARAM_FILES, ids=lambda p: p.name)
def test_every_params_file_validates(path, monkeypatch):
    keys = yaml.safe_load(path.read_text())
    declared = declared_parameters()
    assert set(keys) <= set(declared), f"{path.name}: keys the notebooks do not declare"
    assert keys["run_name"] == path.stem or path.stem == "smoke"
    real = keys.get("dataset") in ("flowers102", "stanford_dogs", "folder", "photos")
    if real and not SHARED_DATASETS.is_dir():
        pytest.skip(f"shared datasets not at {SHARED_DATASETS}")
    monkeypatch.setenv("COLORKIT_DATA", str(SHARED_DATASETS))
    # The folder recipes are the 120-breed dog crops, whose folder the command line gives.
    crops = {"data_dir": str(SHARED_DATASETS / "stanford_dogs_crops")} if keys.get("dataset") == "folder" else {}
    # No Places365 copy is at hand: its layout is checked on a small official tree in test_places365.
    config = load_params(path, crops, check_data=keys.get("dataset") != "places365")
    # The declared defaults, then the file, then the command line; an int or a number written as
    # text (YAML 1.1 reads 3e-4 as a string) is a float where a float is declared.
    expected = {key: default for key, (_, default) in declared.items()}
    for key, value in {**keys, **crops}.items():
        kind = declared[key][0]
        expected[key] = float(value) if kind is float and not isinstance(value, bool) else value
    assert config == expected
    for key, value in config.items():
        assert type(value) is declared[key][0], f"{path.name}: {key} = {value!r}"


def test_unknown_key_names_the_file_the_key_and_the_valid_keys(tmp_path):
    path = write(tmp_path, "epochz: 3\n")
    with pytest.raises(ParamsError) as err:
        load_params(path)
    message = str(err.value)
    assert str(path) in message and "'epochz'" in message and "did you mean 'epochs'" in message
    assert "valid keys:" in message and "batch_size" in message


@pytest.mark.parametrize("text, expected, got", [
    ("epochs: ten\n", "int", "'ten'"),
    ("augment: 1\n", "bool", "1"),
    ("batch_size: 8.0\n", "int", "8.0"),
    ("model: 3\n", "str", "3"),
    ("lr: fast\n", "float", "'fast'"),
])
def test_wrong_type_names_file_key_expected_type_and_value(tmp_path, text, expected, got):
    path = write(tmp_path, text)
    key = text.split(":")[0]
    with pytest.raises(ParamsError, match=f"{path}: '{key}' must be {expected}, got {got}"):
        load_params(path)


def test_numbers_that_mean_floats_are_accepted(tmp_path):
    config = load_params(write(tmp_path, "lr: 3e-4\nl1_weight: 50\n"))
    assert config["lr"] == 3e-4 and isinstance(config["l1_weight"], float)


@pytest.mark.parametrize("text, match", [
    ("model: gan\n", "'model' must be one of cgan | wgangp | l1"),
    ("split: official\n", "split 'official' is not a split policy of sample"),
    ("epochs: 0\n", "'epochs' must be >= 1"),
    ("image_size: 48\n", "power of two"),
    ("run_name: a/b\n", "folder name"),
    ("- 1\n", "expected a mapping"),
    ("epochs: [1\n", "not valid YAML"),
])
def test_bad_values_are_refused(tmp_path, text, match):
    with pytest.raises(ParamsError, match=match):
        load_params(write(tmp_path, text))


def test_missing_dataset_says_what_to_put_where(tmp_path):
    path = write(tmp_path, f"dataset: flowers102\ndata_dir: {tmp_path / 'nothing'}\n")
    with pytest.raises(ParamsError) as err:
        load_params(path)
    message = str(err.value)
    assert str(path) in message and "Oxford 102 Flowers not found" in message
    assert "setid.mat" in message and "102flowers.tgz" in message and str(tmp_path / "nothing") in message
    load_params(path, ["download=true"])  # will be fetched by the notebook: accepted


def test_photos_dataset_names_its_missing_part_and_downloads_only_flowers(tmp_path):
    if not (SHARED_DATASETS / "stanford_dogs_crops").is_dir():
        pytest.skip(f"shared datasets not at {SHARED_DATASETS}")
    (tmp_path / "stanford_dogs_crops").symlink_to(SHARED_DATASETS / "stanford_dogs_crops")
    path = write(tmp_path, f"dataset: photos\ndata_dir: {tmp_path}\n")
    with pytest.raises(ParamsError, match=r"dataset 'photos': photos: .* is missing flowers102/"):
        load_params(path)
    load_params(path, ["download=true"])  # the notebook fetches the flowers102 part: accepted
    (tmp_path / "stanford_dogs_crops").unlink()
    (tmp_path / "flowers102").symlink_to(SHARED_DATASETS / "flowers102")
    with pytest.raises(ParamsError, match=r"missing stanford_dogs_crops/(.|\n)*cannot be downloaded"):
        load_params(path, ["download=true"])


def test_folder_dataset_needs_a_folder(tmp_path):
    with pytest.raises(ParamsError, match="needs data_dir"):
        load_params(write(tmp_path, "dataset: folder\n"))


def test_set_values_are_yaml_scalars_checked_like_the_file(tmp_path):
    config = load_params(None, ["epochs=5", "lr=1e-3", "augment=false", "model=wgangp", "split="])
    assert (config["epochs"], config["lr"], config["augment"], config["model"]) == (5, 1e-3, False, "wgangp")
    with pytest.raises(ParamsError, match="--set: 'epochs' must be int, got 'five'"):
        load_params(None, ["epochs=five"])
    with pytest.raises(ParamsError, match="--set: unknown parameter 'epoch'"):
        load_params(None, ["epoch=5"])
    with pytest.raises(ParamsError, match="expected key=value"):
        load_params(None, ["epochs"])
    # --set wins over the file.
    assert load_params(write(tmp_path, "epochs: 7\n"), ["epochs=2"])["epochs"] == 2


def test_from_namespace_checks_what_papermill_injected():
    namespace = {**params.defaults(), "epochs": "3"}
    with pytest.raises(ParamsError, match="train.ipynb parameters: 'epochs' must be int"):
        params.from_namespace(namespace, "train")
    config = params.from_namespace({**params.defaults(), "unrelated": 1}, "evaluate")
    assert set(config) == set(params.notebook_schema("evaluate"))


def test_an_old_file_with_preset_loads_it_as_layout_with_a_warning(tmp_path):
    old = tmp_path / "old.yaml"
    old.write_text("preset: seed\n")
    with pytest.warns(FutureWarning, match=f"{old}: 'preset' is now 'layout'"):
        assert load_params(old)["layout"] == "seed"
    with pytest.warns(FutureWarning, match="--set: 'preset' is now 'layout'"):
        config = load_params(None, ["preset=seed"])
    assert config["layout"] == "seed" and "preset" not in config


def test_fractions_are_checked():
    with pytest.raises(params.ParamsError, match="'ema_decay' must be below 1"):
        params.load_params(None, {"ema_decay": 1.0})
