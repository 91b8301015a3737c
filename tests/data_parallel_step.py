"""Two CGAN and two WGAN-GP `fit` steps from the same weights and batches, first on one device, then
data parallel over two virtual CPU devices, on the backend this process runs (KERAS_BACKEND);
test_distribution compares the two.

    python tests/data_parallel_step.py OUT.npz

OUT.npz holds `one/<model>/<key>` and `two/<model>/<key>`: the last logs and every weight of both
networks, and `init/...`, the initial weights. JAX takes its two devices from
XLA_FLAGS=--xla_force_host_platform_device_count=2, set by the caller before JAX starts;
TensorFlow's two logical CPU devices are made here. On TensorFlow `two/cgan_local_bn` is also
trained: batch norm on each replica's own statistics, which must differ
from one device (the comparison's control). The last line printed is JSON: the replicas of each run.
"""

import json
import sys

import keras
import numpy as np
from keras import ops

SIZE, BATCH, STEPS = 16, 8, 2


def virtual_devices(count=2):
    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def networks(batch_norm):
    from colorkit.models import PatchDiscriminator, UNetGenerator

    return (UNetGenerator(SIZE, base_filters=4, name="generator"),
            PatchDiscriminator(SIZE, base_filters=4, n_layers=2, batch_norm=batch_norm, name="discriminator"))


def inputs():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    count = BATCH * STEPS
    # A per-sample offset, so that each sample's interpolation weight (below) is its own.
    offset = np.linspace(-0.5, 0.5, count).reshape(count, 1, 1, 1)
    arrays = {"l": np.clip(rng.uniform(-0.5, 0.5, (count, SIZE, SIZE, 1)) + offset, -1, 1),
              "ab": rng.uniform(-0.4, 0.4, (count, SIZE, SIZE, 2))}
    for name, batch_norm in (("cgan", True), ("wgangp", False)):
        for net in networks(batch_norm):
            for i, w in enumerate(net.get_weights()):
                arrays[f"{name}/{net.name}/{i}"] = w
    return {k: np.asarray(v, np.float32) for k, v in arrays.items()}


def replicas(gan):
    if keras.config.backend() == "tensorflow":
        return gan.distribute_strategy.num_replicas_in_sync
    # JAX: the devices the weights live on (replicated over all of them under DataParallel).
    return len(gan.generator.weights[0].value.sharding.device_set)


def train(name, data, distribution, local_batch_norm=False):
    from colorkit import distribution as dist
    from colorkit.gan import CGAN, WGANGP

    class SampleAlphaWGANGP(WGANGP):
        """Interpolation weights that follow each sample (a function of its L) to whichever device
        computes it: random ones would differ between one and two devices."""

        def critic_objective(self, l, ab, fake, alpha, training=True):
            alpha = 0.5 + 0.8 * ops.mean(l, axis=(1, 2, 3), keepdims=True)
            return super().critic_objective(l, ab, fake, alpha, training)

    model = name.split("_")[0]
    with dist.scope(distribution, BATCH) as adapt:
        generator, discriminator = networks(batch_norm=model == "cgan")
        for net in (generator, discriminator):
            net.set_weights([data[f"{model}/{net.name}/{i}"] for i in range(len(net.weights))])
        gan = CGAN(generator, discriminator) if model == "cgan" else SampleAlphaWGANGP(generator, discriminator,
                                                                                       n_critic=2)
        # SGD: the updated weights then show the gradients themselves (Adam normalises them).
        gan.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05))
    gan = adapt(gan)
    if local_batch_norm:
        for layer in generator.layers + discriminator.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.synchronized = False
    history = gan.fit(data["l"], data["ab"], batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    results = {f"{name}/{key}": np.float64(values[-1]) for key, values in history.history.items()}
    for net in (generator, discriminator):
        for i, w in enumerate(net.get_weights()):
            results[f"{name}/{net.name}/{i}"] = w
    return results, replicas(gan)


def main(out_path):
    virtual_devices()
    data = inputs()
    runs = [("one", "cgan", "none"), ("one", "wgangp", "none"), ("two", "cgan", "data_parallel"),
            ("two", "wgangp", "data_parallel")]
    if keras.config.backend() == "tensorflow":
        runs.append(("two", "cgan_local_bn", "data_parallel"))
    results, counts = {}, {}
    # One device first: under JAX, DataParallel stays set for the rest of the process.
    for devices, name, distribution in runs:
        out, counts[f"{devices}/{name}"] = train(name, data, distribution, local_batch_norm=name.endswith("local_bn"))
        results.update({f"{devices}/{key}": value for key, value in out.items()})
    results.update({f"init/{key}": value for key, value in data.items() if "/" in key})
    np.savez(out_path, **results)
    print(json.dumps({"replicas": counts}))


if __name__ == "__main__":
    main(sys.argv[1])
