"""Evaluating one trained run on its test split: everything `notebooks/evaluate.ipynb` calls (a folder of
any photos is :mod:`colorkit.photo_folder_metrics`', runs side by side :mod:`colorkit.compare`'s).

The best checkpoint (or the final generator) is measured on the test split beside the grayscale
baseline, test grids are drawn, and metrics.json is written into the run folder (see
:mod:`colorkit.runs`).
"""

import time

import numpy as np

from colorkit import backends, checkpoints, datasets, figures, loading, params, runs
from colorkit.backends import environment
from colorkit.cache import open_images


def open_run(config):
    """A finished (or stopped) training run for evaluation: its saved parameters under `config`."""
    folder = runs.run_folder(config)
    saved = runs.read_params(folder)
    if not saved:
        raise FileNotFoundError(f"no run at {folder} (no {runs.PARAMS_FILE}): train it first with notebooks/"
                                f"train.ipynb or `colorkit run`, run_name = {config['run_name']!r}")
    backends.configure()
    return runs.Run(folder, {**params.defaults(), **saved, **config})


def best_generator(run):
    """(generator, info): the best checkpoint by the validation metric, else the final generator."""
    progress = checkpoints.read_progress(run.dir)
    path = runs.generator_file(run.dir)
    info = {"file": str(path.relative_to(run.dir)), "epoch": progress.get("best_epoch"),
            "monitor": progress.get("monitor"), "value": progress.get("best")}
    return loading.load_generator(path), info


def load_splits(run):
    """(test, val): the test split's Lab images (its first `max_test_images` when > 0) and the validation
    split's, the dataset opened once."""
    images = open_images(run.config, progress=False)[0]
    limit = run.config["max_test_images"]
    return (images["test"][:limit] if limit > 0 else images["test"]), images["val"]


def load_test(run):
    """The test split's Lab images (its first `max_test_images` when > 0)."""
    return load_splits(run)[0]


def realism_reference(run, test, val):
    """The real photos FID and KID compare against: the validation split `val`, other photos than the test
    split's; None (and the reason printed) when `realism` is off, either split is too small or the
    Inception's wheel is missing."""
    if not run.config["realism"]:
        return None
    from colorkit.pretrained import inception_file
    from colorkit.realism import MIN_IMAGES

    try:
        inception_file()
    except FileNotFoundError as err:
        print(f"realism metrics skipped: {err}")
        return None
    if min(len(test), len(val)) < MIN_IMAGES:
        print(f"realism metrics skipped: they need {MIN_IMAGES} test and validation photos, "
              f"got {len(test)} and {len(val)}")
        return None
    return val


def test_metrics(run, generator, test, val):
    """Every metric of the generator on the test photos beside the grayscale, with the realism metrics
    (`colorkit.realism`) against the validation photos `val` when `realism` is on."""
    from colorkit.metrics import evaluate_generator
    from colorkit.realism import InceptionFeatures

    features = InceptionFeatures(runs.cache_root(run.config["cache_dir"], run.config["outputs_dir"]) / "inception")
    return evaluate_generator(generator, test, batch_size=run.config["batch_size"],
                              reference=realism_reference(run, test, val), features=features,
                              realism_images=run.config["realism_images"])


def write_test_grids(run, generator, lab, show=True):
    """`test_grids` grids of `grid_images` seeded test images each, as samples/test_NN.png."""
    count = min(len(lab), run.config["grid_images"] * run.config["test_grids"])
    rows = np.random.default_rng(run.config["seed"]).choice(len(lab), count, replace=False)
    paths = []
    for n, chunk in enumerate(np.array_split(rows, run.config["test_grids"]), start=1):
        if len(chunk) == 0:
            continue
        images = np.asarray(lab[np.sort(chunk)], np.float32)
        path = run.samples / f"test_{n:02d}.png"
        figures.sample_grid(images[..., :1], images[..., 1:], figures.predict_ab_batches(generator, images[..., :1]),
                              path, title=f"{run.config['run_name']}: test")
        paths.append(path)
    if show:
        from IPython.display import Image, display

        for path in paths:
            display(Image(filename=str(path)))
    return paths


def metrics_table(result):
    """Test metrics beside the grayscale baseline, as a table."""
    import pandas as pd

    return pd.DataFrame({"test": result["test"], **result["baselines"]})


def write_metrics(run, result, checkpoint=None):
    """Write metrics.json: the run, backend and versions, timings, and every test metric."""
    train_s = runs.train_seconds(run.dir)
    evaluate_s = time.time() - run.started
    config = run.config
    data = {"run_name": config["run_name"], **environment(), "dataset": config["dataset"],
            "split": config["split"] or datasets.SPLIT_POLICIES[config["dataset"]][0], "model": config["model"],
            "image_size": config["image_size"],
            "epochs": checkpoints.read_progress(run.dir).get("epoch", 0), "seconds": train_s + evaluate_s,
            "train_seconds": train_s, "evaluate_seconds": evaluate_s, "checkpoint": checkpoint,
            "best_metric": (checkpoint or {}).get("monitor"), **result}
    checkpoints.write_json(data, run.dir / runs.METRICS_FILE)
    return data
