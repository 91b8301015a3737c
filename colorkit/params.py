"""Run parameters: the notebooks' `parameters` cells are the schema, YAML files override them.

Each parameter is declared once, as `name: type = value  # help` in the `parameters` cell of
`notebooks/train.ipynb` or `notebooks/evaluate.ipynb`, and read from there. A help text that
starts with `a | b | c` lists the allowed values. A YAML file or a `--set key=value` may only
name declared keys, with the declared type (an int is accepted for a float), as in nanoGPT's
configurator. Everything here is checked before a kernel starts, including that the dataset is
where it should be. Imports stay light (the dataset modules load on use), so that `colorkit
--help` answers at once and a bad file is refused in about a second.
"""

import ast
import functools
import io
import json
import os
import re
import tokenize
from pathlib import Path

import yaml

from colorkit.runs import NOTEBOOKS, renamed_params, resolve_path

TYPES = {"str": str, "int": int, "float": float, "bool": bool}
# Keys whose values must be >= 1 or >= 0; anything else numeric is free.
POSITIVE = ("image_size", "batch_size", "epochs", "base_filters", "max_filters", "d_base_filters", "d_layers",
            "generator_steps", "n_critic", "lr_decay_steps", "grid_images", "realism_images")
NON_NEGATIVE = ("max_train_images", "max_test_images", "depth", "test_grids", "seed", "lr", "l1_weight",
                "gp_weight", "feature_matching_weight", "d_lr_ratio", "beta1", "dropout", "ema_decay",
                "max_train_seconds", "max_train_steps")
# Keys that are fractions: below 1.
BELOW_ONE = ("dropout", "ema_decay", "beta1")
_CHOICES = re.compile(r"^\s*([\w.]+(?:\s*\|\s*[\w.]+)+)")
_FLOAT_TEXT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


class ParamsError(ValueError):
    """A parameter file or value is unusable; the message names the source, the key and the fix."""


def notebooks_dir():
    """The `notebooks/` folder beside the package (an editable install or a checkout)."""
    return Path(__file__).resolve().parents[1] / "notebooks"


def notebook_path(name):
    return notebooks_dir() / f"{name}.ipynb"


def _parameters_cell(path):
    """The source of the notebook's cell tagged `parameters`, read as JSON (papermill's reader loads
    jsonschema, seconds before any check could answer)."""
    for cell in json.loads(Path(path).read_text())["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return "".join(cell["source"])
    raise ParamsError(f"{path}: no cell is tagged `parameters`")


@functools.cache
def notebook_schema(name):
    """`{key: {"type", "default", "help", "choices"}}` of one notebook's `parameters` cell, where each
    line is `name: type = literal  # help`."""
    path = notebook_path(name)
    source = _parameters_cell(path)
    comments = {token.start[0]: token.string.lstrip("#").strip()
                for token in tokenize.generate_tokens(io.StringIO(source).readline) if token.type == tokenize.COMMENT}
    schema = {}
    for node in ast.parse(source).body:
        kind = node.annotation.id if isinstance(node, ast.AnnAssign) and isinstance(node.annotation, ast.Name) else None
        if kind not in TYPES or not isinstance(node.target, ast.Name):
            raise ParamsError(f"{path}: parameter line {ast.unparse(node)!r} needs a plain type annotation "
                              f"({', '.join(TYPES)})")
        help_text = comments.get(node.lineno, "")
        match = _CHOICES.match(help_text)
        choices = tuple(c.strip() for c in match.group(1).split("|")) if match else None
        schema[node.target.id] = {"type": kind, "default": ast.literal_eval(node.value), "help": help_text,
                                  "choices": choices}
    return schema


def schema():
    """The union of both notebooks' parameters (a shared key is declared the same in both)."""
    merged = {}
    for name in NOTEBOOKS:
        merged.update(notebook_schema(name))
    return merged


def defaults():
    return {key: spec["default"] for key, spec in schema().items()}


def _typed(key, value, spec, source):
    kind = spec["type"]
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    # YAML 1.1 (PyYAML) reads 3e-4 as a string; a float written that way is still meant as one.
    if kind == "float" and isinstance(value, str) and _FLOAT_TEXT.match(value.strip()):
        return float(value)
    if type(value) is not TYPES[kind]:
        raise ParamsError(f"{source}: {key!r} must be {kind}, got {value!r} ({type(value).__name__})")
    return value


def _check_value(key, value, spec, source):
    if spec["choices"] and value not in spec["choices"]:
        raise ParamsError(f"{source}: {key!r} must be one of {' | '.join(spec['choices'])}, got {value!r}")
    if key in POSITIVE and value < 1:
        raise ParamsError(f"{source}: {key!r} must be >= 1, got {value!r}")
    if key in NON_NEGATIVE and value < 0:
        raise ParamsError(f"{source}: {key!r} must be >= 0, got {value!r}")
    if key in BELOW_ONE and value >= 1:
        raise ParamsError(f"{source}: {key!r} must be below 1, got {value!r}")


def _unknown(key, source, known):
    from difflib import get_close_matches

    close = get_close_matches(key, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ParamsError(f"{source}: unknown parameter {key!r}{hint}; valid keys: {', '.join(sorted(known))}")


def check_values(values, source, *, keys=None, check_data=True):
    """Type- and range-check `values` (a partial dict) against the schema; returns a typed copy.

    Args:
        values: dict. Parameter values.
        source: str. Where they come from, for messages (a file name, `--set`).
        keys: iterable or None. Allowed keys; None allows every declared key.
        check_data: bool. Also check the dataset, when `values` names one. Defaults to True.
    """
    known = schema() if keys is None else {k: schema()[k] for k in keys}
    typed = {}
    for key, value in renamed_params(values, source).items():
        if key not in known:
            raise _unknown(key, source, known)
        typed[key] = _typed(key, value, known[key], source)
        _check_value(key, typed[key], known[key], source)
    if "run_name" in typed and not re.fullmatch(r"[\w.-]+", typed["run_name"]):
        raise ParamsError(f"{source}: 'run_name' must be a folder name (letters, digits, _ . -), "
                          f"got {typed['run_name']!r}")
    if "image_size" in typed and typed["image_size"] & (typed["image_size"] - 1):
        raise ParamsError(f"{source}: 'image_size' must be a power of two, got {typed['image_size']}")
    if typed.get("prior", "none") != "none":
        from colorkit.pretrained import inception_file

        try:
            inception_file()
        except FileNotFoundError as err:
            raise ParamsError(f"{source}: 'prior': {err}") from err
    if typed.get("prior_size", 75) < 75:
        raise ParamsError(f"{source}: 'prior_size' must be at least 75 (Inception-v3's smallest input), "
                          f"got {typed['prior_size']}")
    if "distribution" in typed:
        from colorkit import distribution

        problem = distribution.check(typed["distribution"], keras_backend())
        if problem:
            raise ParamsError(f"{source}: {problem}")
    if typed.get("init_from"):
        from colorkit import loading

        try:
            loading.resolve(typed["init_from"])
        except FileNotFoundError as err:
            raise ParamsError(f"{source}: 'init_from': {err}") from err
    if "dataset" in typed:
        _check_split(typed, source)
        if check_data:
            check_dataset(typed, source)
    return typed


def keras_backend():
    """The Keras backend that a kernel started now would use, read as Keras reads it, without
    importing it: KERAS_BACKEND, else `backend` in `$KERAS_HOME/keras.json` (default ~/.keras),
    else tensorflow."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    config = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "keras.json"
    try:
        return json.loads(config.read_text()).get("backend", "tensorflow")
    except (OSError, ValueError):
        return "tensorflow"


def _check_split(values, source):
    from colorkit import datasets

    policies = datasets.SPLIT_POLICIES[values["dataset"]]
    split = values.get("split", "")
    if split and split not in policies:
        raise ParamsError(f"{source}: split {split!r} is not a split policy of {values['dataset']}; "
                          f"valid: {', '.join(policies)} (or \"\" for {policies[0]})")


def check_dataset(values, source):
    """Raise ParamsError, with what to put where, unless the dataset is there or will be downloaded."""
    from colorkit import datasets

    try:
        datasets.ensure_dataset(values["dataset"], dataset_dir(values), download=False)
    except datasets.DatasetNotFound as err:
        if values.get("download") and values["dataset"] in ("flowers102", "stanford_dogs"):
            return  # the train notebook fetches it
        if values.get("download") and values["dataset"] == "photos" and (
                datasets.photos.missing_parts(dataset_dir(values)) == [datasets.photos.FLOWERS]):
            return  # the train notebook fetches the flowers102 part; the dog crops cannot be fetched
        hint = "\n(or set download: true to fetch it)" if values["dataset"] in ("flowers102",
                                                                                  "stanford_dogs") else ""
        raise ParamsError(f"{source}: dataset {values['dataset']!r}: {err}{hint}") from err


def dataset_dir(values):
    """The dataset folder of `values` as an absolute Path, or None (`sample`, or `folder` without one)."""
    from colorkit import datasets

    if values.get("data_dir"):
        return resolve_path(values["data_dir"])
    default = datasets.default_data_dir(values["dataset"])
    return resolve_path(default) if default is not None and values["dataset"] != "sample" else None


def parse_set(assignment):
    """`"key=value"` -> (key, value), the value read as a YAML scalar (`true`, `3`, `0.1`, `cgan`)."""
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise ParamsError(f"--set {assignment}: expected key=value")
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError as err:
        raise ParamsError(f"--set {assignment}: not a YAML scalar ({err})") from err
    if isinstance(value, (dict, list)) or value is None:
        raise ParamsError(f"--set {assignment}: expected a single value (string, number or true/false)")
    return key.strip(), value


def read_yaml(path):
    """A parameter file as a dict (an empty file is an empty dict)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise ParamsError(f"{path}: cannot read it ({err.strerror})") from err
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML ({err})") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of parameter: value, got {type(data).__name__}")
    return data


def load_params(yaml_path, overrides=(), *, check_data=True):
    """Defaults <- the YAML file <- `--set` overrides, every value checked; returns the full dict.

    Args:
        yaml_path: str or Path. A parameter file (or None for the defaults alone).
        overrides: iterable of `"key=value"` strings or a dict.
        check_data: bool. Check that the dataset is there. Defaults to True.

    Raises:
        ParamsError: an unknown key, a wrong type or value, or a missing dataset.
    """
    values = defaults()
    if yaml_path is not None:
        values.update(check_values(read_yaml(yaml_path), str(yaml_path), check_data=False))
    if not isinstance(overrides, dict):
        overrides = dict(parse_set(item) for item in overrides)
    values.update(check_values(overrides, "--set", check_data=False))
    source = str(yaml_path) if yaml_path is not None else "defaults"
    return check_values(values, source, check_data=check_data)


def from_namespace(namespace, notebook):
    """The checked parameters of `notebook` ("train" or "evaluate") from a notebook's globals()."""
    keys = notebook_schema(notebook)
    return check_values({key: namespace[key] for key in keys}, f"{notebook}.ipynb parameters", keys=keys)


def non_defaults(values):
    """The entries of `values` that differ from the notebook defaults."""
    base = defaults()
    return {key: value for key, value in values.items() if base.get(key) != value}
