"""One run of `notebooks/train.ipynb` and `notebooks/evaluate.ipynb`: everything they call.

A run lives in `<outputs_dir>/<run_name>/`:

    params.yaml                 the resolved parameters
    train.ipynb, evaluate.ipynb the executed notebooks (when run through `colorkit run`)
    history.csv, logs/          one row per epoch; TensorBoard
    samples/epoch_NNN.png       a validation grid per epoch; samples/test_NN.png on the test split
    checkpoints/                last.keras, best_generator.keras, progress.json
    loss_curves.png, generator.keras, train.json, metrics.json
"""

import importlib.metadata
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from colorkit import backends, callbacks, checkpoints, datasets, distribution, params, presets
from colorkit.gan import build_gan
from colorkit.pipeline import ColorBatches, open_cache, prepare

GENERATOR_FILE = "generator.keras"
TRAIN_FILE = "train.json"
METRICS_FILE = "metrics.json"
# Split policies that draw at random use a fixed seed, so that runs of any `seed` share a test set.
SPLIT_SEED = 0


@dataclass
class Run:
    """A run folder and its resolved parameters."""

    dir: Path
    config: dict
    started: float = field(default_factory=time.time)

    @property
    def history_csv(self):
        return self.dir / callbacks.HISTORY

    @property
    def samples(self):
        return self.dir / callbacks.SAMPLES


def run_folder(config):
    return params.resolve_path(config["outputs_dir"]) / config["run_name"]


def environment():
    """The Keras backend and the versions of the packages that produced a result."""
    backend = keras.config.backend()
    framework = sys.modules.get(backend)  # already imported by Keras; nothing is imported here
    return {"backend": backend,
            "versions": {"keras": keras.__version__, backend: getattr(framework, "__version__", None),
                         "colorkit": importlib.metadata.version("colorkit"), "python": sys.version.split()[0]}}


def check_precision(precision):
    """Raises ValueError when `precision` cannot train on this backend and machine."""
    problem = backends.mixed_precision_problem() if precision != "float32" else None
    if problem:
        raise ValueError(f"precision: {precision!r} cannot be used here: {problem}. "
                         "Set precision = 'float32', or use the tensorflow or jax backend.")


def start_run(config):
    """Create (or, with `resume`, reopen) the run folder, save the parameters, seed, set precision.

    Raises:
        FileExistsError: the folder holds a run and `resume` is False, or resuming would change
            a parameter the checkpoint was trained with.
    """
    folder = run_folder(config)
    check_precision(config["precision"])
    if (folder / checkpoints.CHECKPOINT_DIR).exists() or (folder / callbacks.HISTORY).exists():
        if not config["resume"]:
            raise FileExistsError(f"{folder} already holds a run: set resume = True (colorkit run --resume) "
                                  "to continue it, or choose another run_name")
        changed = params.changed_on_resume(params.read_saved(folder), config)
        if changed:
            raise FileExistsError(f"cannot resume {folder} with other parameters: " + ", ".join(
                f"{k}: {old!r} -> {new!r}" for k, (old, new) in changed.items()))
    folder.mkdir(parents=True, exist_ok=True)
    params.save(config, folder)
    keras.utils.set_random_seed(config["seed"])
    keras.mixed_precision.set_global_policy(config["precision"])
    print(f"run {config['run_name']} in {folder}: {environment()}")
    return Run(folder, config)


@dataclass
class Data:
    """The prepared Lab arrays of every split and the batches that training reads."""

    arrays: dict
    train: object
    val: object
    summary: dict

    def pick(self, split, count, seed=0):
        """(L, ab) of `count` images of a split chosen with a fixed seed."""
        lab = self.arrays[split]
        if not len(lab):
            raise ValueError(f"the {split} split of {self.summary['dataset']} is empty")
        rows = np.sort(np.random.default_rng(seed).choice(len(lab), min(count, len(lab)), replace=False))
        lab = np.asarray(lab[rows], np.float32)
        return lab[..., :1], lab[..., 1:]


def prepare_data(config, progress=True):
    """Decode the dataset into the Lab cache (reused when current); returns prepare's summary."""
    data_dir = params.dataset_dir(config)
    if config["download"]:
        data_dir = datasets.ensure_dataset(config["dataset"], data_dir, download=True)
    cache = config["cache_dir"] or os.environ.get("COLORKIT_CACHE") or str(Path(config["outputs_dir"]) / ".cache")
    return prepare(config["dataset"], str(data_dir) if data_dir else None, config["image_size"],
                   str(params.resolve_path(cache)), config["split"] or None, crop_to_box=config["crop_to_box"],
                   seed=SPLIT_SEED, progress=progress)


def load_data(config):
    """The cached splits and seeded batches: training augmented and shuffled, validation in order."""
    summary = prepare_data(config)
    arrays = open_cache(summary["cache"])
    print(f"{summary['dataset']} ({summary['split']}, {summary['size']} px): "
          + ", ".join(f"{k} {v}" for k, v in summary["counts"].items()) + f" images; cache {summary['cache']}")
    train = ColorBatches(arrays["train"], config["batch_size"], augment=config["augment"], seed=config["seed"],
                         max_images=config["max_train_images"])
    # Data parallel: whole batches only, which split evenly over the devices (JAX requires it).
    whole = config["distribution"] != "none"
    val = ColorBatches(arrays["val"], config["batch_size"], shuffle=False, drop_remainder=whole) \
        if len(arrays["val"]) >= (config["batch_size"] if whole else 1) else None
    return Data(arrays, train, val, summary)


def build_model(config, steps_per_epoch):
    """The compiled GAN of `config`: initial weights from `seed`, the generator's from `init_from`
    (a pretrained preset or a .keras file) when given."""
    keras.utils.set_random_seed(config["seed"])
    gan = build_gan(
        config["model"], config["image_size"], preset=config["preset"], base_filters=config["base_filters"],
        depth=config["depth"] or None, max_filters=config["max_filters"], dropout=config["dropout"],
        upsampling=config["upsampling"], d_base_filters=config["d_base_filters"], d_layers=config["d_layers"],
        l1_weight=config["l1_weight"], lr=config["lr"], beta1=config["beta1"], d_lr_ratio=config["d_lr_ratio"],
        lr_schedule=config["lr_schedule"], lr_decay_steps=config["lr_decay_steps"],
        total_steps=config["epochs"] * steps_per_epoch, generator_steps=config["generator_steps"],
        n_critic=config["n_critic"], gp_weight=config["gp_weight"], adversarial_loss=config["adversarial_loss"],
        ema_decay=config["ema_decay"], seed=config["seed"])
    if config["init_from"]:
        presets.copy_generator_weights(presets.load_generator(config["init_from"]), gan.generator)
        if gan.weight_average is not None:
            gan.weight_average.reset(gan.generator.trainable_variables)
        print(f"generator weights from {config['init_from']}")
    return gan


def build_or_restore(run, data):
    """(gan, finished epochs): the last checkpoint when resuming one, else a new model, either
    made for `distribution`."""
    config = run.config
    with distribution.scope(config["distribution"], config["batch_size"]) as adapt:
        gan, done = checkpoints.restore(run.dir) if config["resume"] else (None, 0)
        if gan is not None:
            print(f"resuming {config['run_name']} after epoch {done} of {config['epochs']}")
        else:
            gan = build_model(config, len(data.train))
    return adapt(gan), done


def summarize(gan):
    for network in (gan.generator, gan.discriminator):
        if network is not None:
            network.summary(line_length=100)


def fit(gan, data, run, initial_epoch=0, show=True):
    """`gan.fit` from `initial_epoch` to `epochs` with the standard callbacks; the History, or None."""
    config = run.config
    if initial_epoch >= config["epochs"]:
        print(f"already trained for {initial_epoch} epochs (epochs = {config['epochs']})")
        return None
    grid_split = "val" if len(data.arrays["val"]) else "train"
    if grid_split == "train":
        print("no validation split: the sample grids show training images, and the last epoch is saved as best")
    val_l, val_ab = data.pick(grid_split, config["grid_images"], seed=config["seed"])
    data.train.set_epoch(initial_epoch)
    monitor = callbacks.best_metric(config["best_metric"], config["model"])
    standard = callbacks.standard_callbacks(run.dir, val_l, val_ab, show, val_lab=data.arrays["val"], monitor=monitor,
                                            max_seconds=config["max_train_seconds"])
    # shuffle=False: ColorBatches orders each epoch itself, from (seed, epoch), so a resumed
    # run sees the batches an uninterrupted one would.
    return gan.fit(data.train, validation_data=data.val, epochs=config["epochs"], initial_epoch=initial_epoch,
                   shuffle=False, verbose=1, callbacks=[data.train.epoch_callback(), *standard])


def train_seconds(run):
    """Training wall time summed over history.csv (every segment of a resumed run)."""
    import pandas as pd

    if not run.history_csv.exists():
        return 0.0
    history = pd.read_csv(run.history_csv)
    return float(history["seconds"].sum()) if "seconds" in history else 0.0


def finish_training(gan, data, run):
    """Save the final generator as generator.keras; write and return train.json (validation metrics)."""
    checkpoints.save_model(gan.inference_generator(), run.dir / GENERATOR_FILE)
    val = gan.evaluate(data.val, return_dict=True, verbose=0) if data.val is not None else {}
    summary = {"run_name": run.config["run_name"], **environment(),
               "epochs": checkpoints.read_progress(run.dir).get("epoch", 0), "train_seconds": train_seconds(run),
               "steps": int(keras.ops.convert_to_numpy(gan.optimizer.iterations)),
               "val": {key: float(value) for key, value in val.items()}}
    checkpoints.write_json(summary, run.dir / TRAIN_FILE)
    return summary


# ---- evaluation ---------------------------------------------------------------------------------
def open_run(config):
    """A finished (or stopped) training run for evaluation: its saved parameters under `config`."""
    folder = run_folder(config)
    saved = params.read_saved(folder)
    if not saved:
        raise FileNotFoundError(f"no run at {folder} (no {params.PARAMS_FILE}): train it first with notebooks/"
                                f"train.ipynb or `colorkit run`, run_name = {config['run_name']!r}")
    return Run(folder, {**params.defaults(), **saved, **config})


def best_generator(run):
    """(generator, info): the best checkpoint by the validation metric, else the final generator."""
    progress = checkpoints.read_progress(run.dir)
    path = run.dir / checkpoints.CHECKPOINT_DIR / checkpoints.BEST_GENERATOR
    if not path.exists():
        path = run.dir / GENERATOR_FILE
    info = {"file": str(path.relative_to(run.dir)), "epoch": progress.get("best_epoch"),
            "monitor": progress.get("monitor"), "value": progress.get("best")}
    return keras.saving.load_model(path, safe_mode=True), info


def load_test(run):
    """The test split's Lab array (its first `max_test_images` when > 0)."""
    test = open_cache(prepare_data(run.config, progress=False)["cache"])["test"]
    limit = run.config["max_test_images"]
    return test[:limit] if limit > 0 else test


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
        callbacks.sample_grid(images[..., :1], images[..., 1:], callbacks.predict_ab(generator, images[..., :1]),
                              path, title=f"{run.config['run_name']}: test")
        paths.append(path)
    if show:
        from IPython.display import Image, display

        for path in paths:
            display(Image(filename=str(path)))
    return paths


def compare(result):
    """Test metrics beside the grayscale baseline, as a table."""
    import pandas as pd

    return pd.DataFrame({"test": result["test"], **result["baselines"]})


def write_metrics(run, result, checkpoint=None):
    """Write metrics.json: the run, backend and versions, timings, and every test metric."""
    train_s = train_seconds(run)
    evaluate_s = time.time() - run.started
    config = run.config
    data = {"run_name": config["run_name"], **environment(), "dataset": config["dataset"],
            "split": config["split"] or datasets.SPLIT_POLICIES[config["dataset"]][0], "model": config["model"], "image_size": config["image_size"],
            "epochs": checkpoints.read_progress(run.dir).get("epoch", 0), "seconds": train_s + evaluate_s,
            "train_seconds": train_s, "evaluate_seconds": evaluate_s, "checkpoint": checkpoint,
            "best_metric": (checkpoint or {}).get("monitor"), **result}
    checkpoints.write_json(data, run.dir / METRICS_FILE)
    return data
