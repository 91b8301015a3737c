"""Training one run: everything `notebooks/train.ipynb` calls, in the order it calls it.

The run folder's layout and its rules are in :mod:`colorkit.runs`; evaluation is in
:mod:`colorkit.evaluation`.
"""

from dataclasses import dataclass

import keras
import numpy as np

from colorkit import backends, callbacks, checkpoints, distribution, loading, presets, runs
from colorkit.backends import environment
from colorkit.batches import ColorBatches
from colorkit.cache import open_images
from colorkit.gan import build_gan
from colorkit.precision import resolve as resolve_precision


def check_precision(precision):
    """The Keras dtype policy `precision` (see :mod:`colorkit.precision`) trains with here."""
    policy, why = resolve_precision(precision, keras.config.backend())
    if precision == "auto":
        print(f"precision auto: {policy} ({why})")
    return policy


def start_run(config):
    """Create (or, with `resume`, reopen) the run folder, save the parameters, seed, set precision.

    Raises:
        FileExistsError: the folder holds a run and `resume` is False, or resuming would change
            a parameter the checkpoint was trained with.
    """
    # First: JAX's multi-process engine must start before anything touches a device.
    cluster = distribution.start(config["distribution"], config["batch_size"])
    folder = runs.run_folder(config)
    policy = check_precision(config["precision"])
    if cluster and cluster.index:
        folder = runs.scratch_folder(config["run_name"], cluster.index)
    else:
        problem = runs.resume_problem(config)
        if problem:
            raise FileExistsError(problem)
        folder.mkdir(parents=True, exist_ok=True)
        if {k: v for k, v in runs.read_params(folder).items() if k in config} != config:
            runs.write_params(config, folder)  # `colorkit run` has saved them already; a notebook run by hand has not
    backends.configure()
    keras.utils.set_random_seed(config["seed"])
    keras.mixed_precision.set_global_policy(policy)
    print(f"run {config['run_name']} in {folder}: {environment()}")
    return runs.Run(folder, config)


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


def load_data(config):
    """The splits' images and seeded batches: training augmented and shuffled, validation in order."""
    arrays, summary = open_images(config)
    source = f"cache {summary['cache']}" if summary["cache"] else "decoded from the files as batches need them"
    print(f"{summary['dataset']} ({summary['split']}, {summary['size']} px): "
          + ", ".join(f"{k} {v}" for k, v in summary["counts"].items()) + f" images; {source}")
    # Several processes: `batch_size` is the global batch, of which each process reads its slice.
    cluster = distribution.cluster()
    shard = (cluster.index, cluster.count) if cluster else (0, 1)
    train = ColorBatches(arrays["train"], config["batch_size"], augment=config["augment"], seed=config["seed"],
                         max_images=config["max_train_images"], shard=shard, hints=config["hints"])
    # Data parallel: whole batches only, which split evenly over the devices (JAX requires it).
    whole = config["distribution"] != "none"
    val = ColorBatches(arrays["val"], config["batch_size"], shuffle=False, drop_remainder=whole, shard=shard,
                       hints=config["hints"]) \
        if len(arrays["val"]) >= (config["batch_size"] if whole else 1) else None
    return Data(arrays, train, val, summary)


def build_model(config, steps_per_epoch):
    """The compiled GAN of `config`: initial weights from `seed`, the generator's from `init_from`
    (a pretrained preset or a .keras file) when given."""
    keras.utils.set_random_seed(config["seed"])
    gan = build_gan(
        config["model"], config["image_size"], layout=config["layout"], base_filters=config["base_filters"],
        depth=config["depth"] or None, max_filters=config["max_filters"], dropout=config["dropout"],
        upsampling=config["upsampling"], d_base_filters=config["d_base_filters"], d_layers=config["d_layers"],
        l1_weight=config["l1_weight"], lr=config["lr"], beta1=config["beta1"], d_lr_ratio=config["d_lr_ratio"],
        lr_schedule=config["lr_schedule"], lr_decay_steps=config["lr_decay_steps"],
        total_steps=config["epochs"] * steps_per_epoch, generator_steps=config["generator_steps"],
        n_critic=config["n_critic"], gp_weight=config["gp_weight"], adversarial_loss=config["adversarial_loss"],
        feature_matching_weight=config["feature_matching_weight"], spectral_norm=config["spectral_norm"],
        ema_decay=config["ema_decay"], prior=config["prior"], prior_size=config["prior_size"], hints=config["hints"],
        seed=config["seed"])
    if config["init_from"]:
        presets.copy_generator_weights(loading.load_generator(config["init_from"]), gan.generator)
        if gan.weight_average is not None:
            gan.weight_average.reset(gan.generator.trainable_variables)
        print(f"generator weights from {config['init_from']}")
    return gan


def build_or_restore(run, data):
    """(gan, finished epochs): the last checkpoint when resuming one, else a new model, either
    made for `distribution`."""
    config = run.config
    with distribution.scope(config["distribution"], config["batch_size"]) as adapt:
        # From the run folder itself: that of process 0, which processes > 0 only read.
        gan, done = checkpoints.restore(runs.run_folder(config)) if config["resume"] else (None, 0)
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
    steps = int(keras.ops.convert_to_numpy(gan.optimizer.iterations))
    if config["max_train_steps"] and steps >= config["max_train_steps"]:
        print(f"already trained for {steps} steps (max_train_steps = {config['max_train_steps']})")
        return None
    grid_split = "val" if len(data.arrays["val"]) else "train"
    if grid_split == "train":
        print("no validation split: the sample grids show training images (their titles say so), and no "
              "epoch is chosen as best: the final generator is the one evaluated")
    val_l, val_ab = data.pick(grid_split, config["grid_images"], seed=config["seed"])
    data.train.set_epoch(initial_epoch)
    monitor = callbacks.best_metric(config["best_metric"], config["model"])
    standard = callbacks.standard_callbacks(run.dir, val_l, val_ab, show, val_lab=data.arrays["val"], monitor=monitor,
                                            max_seconds=config["max_train_seconds"],
                                            max_steps=config["max_train_steps"], grid_split=grid_split)
    # shuffle=False: ColorBatches orders each epoch itself, from (seed, epoch), so a resumed
    # run sees the batches an uninterrupted one would.
    return gan.fit(data.train, validation_data=data.val, epochs=config["epochs"], initial_epoch=initial_epoch,
                   shuffle=False, verbose=1, callbacks=[data.train.epoch_callback(), *standard])


def finish_training(gan, data, run):
    """Save the final generator as generator.keras; write and return train.json (validation metrics)."""
    checkpoints.save_model(gan.inference_generator(), run.dir / runs.GENERATOR_FILE)
    val = gan.evaluate(data.val, return_dict=True, verbose=0) if data.val is not None else {}
    summary = {"run_name": run.config["run_name"], **environment(),
               "epochs": checkpoints.read_progress(run.dir).get("epoch", 0),
               "train_seconds": runs.train_seconds(run.dir),
               "steps": int(keras.ops.convert_to_numpy(gan.optimizer.iterations)),
               "precision": keras.mixed_precision.global_policy().name,
               "val": {key: float(value) for key, value in val.items()}}
    checkpoints.write_json(summary, run.dir / runs.TRAIN_FILE)
    return summary
