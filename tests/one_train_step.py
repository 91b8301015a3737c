"""One CGAN and one WGAN-GP train step from fixed weights and a fixed batch, on the backend this
process runs (KERAS_BACKEND): the cross-backend equivalence check runs it once per backend.

    python tests/one_train_step.py INPUTS.npz OUT.npz [--init]

With --init it first writes the initial weights and the batch to INPUTS.npz (then steps from them).
"""

import sys

import keras
import numpy as np

from colorkit.gan import CGAN, WGANGP
from colorkit.models import PatchDiscriminator, UNetGenerator

SIZE, BATCH = 32, 8
ALPHA = np.linspace(0.1, 0.9, BATCH, dtype=np.float32).reshape(BATCH, 1, 1, 1)


class FixedAlphaWGANGP(WGANGP):
    """The interpolation weights fixed, since each backend draws different random numbers."""

    def interpolation_weights(self, batch_size):
        return keras.ops.convert_to_tensor(ALPHA)


def networks(batch_norm):
    return (UNetGenerator(SIZE, base_filters=8, name="generator"),
            PatchDiscriminator(SIZE, base_filters=8, n_layers=2, batch_norm=batch_norm, name="discriminator"))


def main(inputs_path, out_path, init=False):
    if init:
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        arrays = {"l": rng.uniform(-1, 1, (BATCH, SIZE, SIZE, 1)), "ab": rng.uniform(-0.4, 0.4, (BATCH, SIZE, SIZE, 2))}
        for name, batch_norm in (("cgan", True), ("wgangp", False)):
            for net in networks(batch_norm):
                for i, w in enumerate(net.get_weights()):
                    arrays[f"{name}/{net.name}/{i}"] = w
        np.savez(inputs_path, **{k: np.asarray(v, np.float32) for k, v in arrays.items()})
    data = np.load(inputs_path)
    results = {}
    for name, cls, batch_norm in (("cgan", CGAN, True), ("wgangp", FixedAlphaWGANGP, False)):
        generator, discriminator = networks(batch_norm)
        for net in (generator, discriminator):
            net.set_weights([data[f"{name}/{net.name}/{i}"] for i in range(len(net.weights))])
        options = {"n_critic": 1} if name == "wgangp" else {}
        gan = cls(generator, discriminator, **options)
        # SGD: the updated weights then show the gradients themselves (Adam normalises them).
        gan.compile(keras.optimizers.SGD(0.01), keras.optimizers.SGD(0.01))
        logs = gan.train_on_batch(data["l"], data["ab"], return_dict=True)
        for key in ("d_loss", "g_loss", "gp"):
            if key in logs:
                results[f"{name}/{key}"] = np.float64(logs[key])
        for i, w in enumerate(generator.get_weights()):
            results[f"{name}/generator/{i}"] = w
    np.savez(out_path, **results)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], init="--init" in sys.argv)
