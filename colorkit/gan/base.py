"""The GAN training algorithm, written once for every backend and every GAN.

One `train_step` (the step a `fit` batch runs):
1. Run the generator once, keeping its pullback (vector-Jacobian product).
2. Update the discriminator (or critic, `n_critic` times) on the detached colorization.
3. Take the gradient of the generator's objective with respect to the colorization, pull it back
   through the generator and apply it; repeat from 1 for `generator_steps` > 1.
4. Count one step on the shared optimizer and update the metric trackers.

Subclasses say what the discriminator update and the generator objective are.
"""

import re
import weakref

import keras
from keras import ops

from colorkit import backends
from colorkit.gan import step_metrics
from colorkit.gan.loss_scale import DynamicLossScale
from colorkit.gan.weight_average import WeightAverage

QUALITY_METRICS = ("psnr", "acc_2", "acc_ab_2", "acc_5", "acc_ab_5")

# Each GAN's generator copy for `inference_generator`, built once. Kept outside the model, where
# Keras would track it as a sublayer and save it with the GAN.
_INFERENCE_COPIES = weakref.WeakKeyDictionary()


def _batch(data):
    """(generator input, L, ab): the input is L, or L and colour hints (colorkit.hints), of which
    the discriminator and the metrics see only L."""
    x, ab, _ = keras.utils.unpack_x_y_sample_weight(data)
    x = ops.convert_to_tensor(x)
    return x, x[..., :1], ops.convert_to_tensor(ab)


def _optimizer_from_config(config):
    return keras.optimizers.deserialize(config) if isinstance(config, dict) else config


def _optimizer_config(optimizer):
    # Class name + config rather than a full serialization: Keras records the module path of an
    # optimizer created under torch as torch-only, and such a file would not train on JAX or TF.
    return {"class_name": optimizer.__class__.__name__, "config": optimizer.get_config()}


@keras.saving.register_keras_serializable(package="colorkit")
class ColorizationGAN(keras.Model):
    """A generator that colorizes L, trained against an optional discriminator.

    Both optimizers live in the one `MultiOptimizer` of the model (the discriminator's variables,
    listed by path, go to the discriminator's), so that saving, resuming and callbacks see them on
    every backend. `compile(g_optimizer, d_optimizer)`.

    Args:
        generator: keras.Model. L (B, H, W, 1), or L with colour hints (B, H, W, 4), -> ab (B, H, W, 2),
            all in [-1, 1].
        discriminator: keras.Model or None. [L, ab] -> patch logits.
        l1_weight: float. Weight of the L1 term in the generator loss. Defaults to 100.
        generator_steps: int. Generator updates per discriminator update. Defaults to 1.
        ema_decay: float. Decay of an exponential moving average of the generator's weights,
            which `inference_generator()` (what is evaluated, shown and saved) uses; 0 keeps no
            average. Defaults to 0.
        seed: int or None. Seed of the model's random numbers. Defaults to None.
    """

    loss_metrics = ("g_loss", "g_l1")

    def __init__(self, generator, discriminator=None, l1_weight=100.0, generator_steps=1, ema_decay=0.0, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        if generator_steps < 1:
            raise ValueError(f"generator_steps must be >= 1, got {generator_steps}")
        self.generator = generator
        self.discriminator = discriminator
        self.l1_weight = l1_weight
        self.generator_steps = generator_steps
        self.ema_decay = ema_decay
        self.seed = seed
        self.weight_average = None
        if ema_decay:
            self.weight_average = WeightAverage([v.shape for v in generator.trainable_variables], ema_decay,
                                                name="generator_average")
            self.weight_average.reset(generator.trainable_variables)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = [keras.metrics.Mean(name=name) for name in self.loss_metrics + QUALITY_METRICS]
        # Mixed float16 (the global policy when the networks were built or loaded: their configs
        # hold no dtype): one dynamic loss scale per network, as their gradients overflow at
        # different scales.
        float16 = any(layer.compute_dtype == "float16" for layer in generator.layers)
        self.loss_scales = {net.name: DynamicLossScale(name=f"{net.name}_loss_scale")
                            for net in (generator, discriminator) if float16 and net is not None}
        self._gan_compile_config = None  # not Keras' own `_compile_config`, which its compile() sets
        self.built = True  # Both networks are functional models, built at construction.

    # ---- what subclasses define -------------------------------------------------------------
    def update_discriminator(self, l, ab, fake):
        """Update the discriminator on a detached colorization; returns its loss terms."""
        return {}

    def generator_objective(self, l, ab, fake):
        """Returns (loss, terms) for the generator, given its output `fake`."""
        raise NotImplementedError

    def evaluation_terms(self, l, ab, fake):
        """Loss terms at inference (networks in inference mode, no update)."""
        return self.generator_objective(l, ab, fake)[1]

    # ---- the algorithm --------------------------------------------------------------------------
    def call(self, l, training=False):
        return self.generator(l, training=training)

    @property
    def metrics(self):
        return list(self.trackers)

    @property
    def g_optimizer(self):
        # MultiOptimizer lists the mapped (discriminator) optimizer first, the default last.
        return self.optimizer.optimizers[-1]

    @property
    def d_optimizer(self):
        return self.optimizer.optimizers[0] if self.discriminator is not None else None

    def train_step(self, *args):
        return backends.run_step(self, self.train_batch, *args)

    def test_step(self, *args):
        return backends.run_step(self, self.test_batch, *args)

    def apply_gradients(self, optimizer, grads, network):
        loss_scale = self.loss_scales.get(network.name)
        if loss_scale is None:
            backends.apply_gradients(optimizer, grads, network.trainable_variables)
        else:
            loss_scale.apply(optimizer, grads, network.trainable_variables, backends.apply_gradients)

    def scaled(self, network, objective):
        """`objective` (returning loss, terms) with the loss multiplied by `network`'s loss scale
        under mixed float16, so that small gradients survive float16 (`apply_gradients` divides
        them by the same scale). The terms stay unscaled."""
        loss_scale = self.loss_scales.get(network.name)
        if loss_scale is None:
            return objective

        def scaled_objective(*args):
            loss, terms = objective(*args)
            return loss_scale.scale_loss(loss), terms

        return scaled_objective

    def train_batch(self, data):
        x, l, ab = _batch(data)
        terms = {}
        for step in range(self.generator_steps):
            fake, pullback = backends.forward_with_pullback(
                lambda: self.generator(x, training=True), self.generator.trainable_variables
            )
            if step == 0:
                terms.update(self.update_discriminator(l, ab, ops.stop_gradient(fake)))
            _, g_terms, d_fake = backends.tensor_value_and_grad(
                self.scaled(self.generator, lambda f: self.generator_objective(l, ab, f)), fake
            )
            self.apply_gradients(self.g_optimizer, pullback(d_fake), self.generator)
        terms.update(g_terms)
        if self.weight_average is not None:
            self.weight_average.update(self.generator.trainable_variables, self.optimizer.iterations)
        self.optimizer.iterations.assign_add(1)
        return self.track(terms, l, ab, ops.stop_gradient(fake))

    def inference_generator(self):
        """The generator to evaluate, show and save: with `ema_decay`, a copy holding the averaged
        weights (and the live batch-norm statistics); otherwise the generator itself."""
        if self.weight_average is None:
            return self.generator
        averaged = {id(v): a for v, a in zip(self.generator.trainable_variables, self.weight_average.averages)}
        if self not in _INFERENCE_COPIES:
            _INFERENCE_COPIES[self] = self.generator.__class__.from_config(self.generator.get_config())
        copy = _INFERENCE_COPIES[self]
        for target, source in zip(copy.variables, self.generator.variables, strict=True):
            # A buffer of its own: JAX's predict donates the copy's, which must not be the average's.
            target.assign(ops.copy(averaged.get(id(source), source)))
        return copy

    def test_batch(self, data):
        x, l, ab = _batch(data)
        fake = self.generator(x, training=False)
        return self.track(self.evaluation_terms(l, ab, fake), l, ab, fake)

    def track(self, terms, l, ab, fake):
        rgb_true, rgb_pred = step_metrics.network_to_rgb(l, ab), step_metrics.network_to_rgb(l, fake)
        terms = dict(terms, psnr=step_metrics.psnr(rgb_true, rgb_pred))
        for tolerance in (2, 5):
            terms[f"acc_{tolerance}"], terms[f"acc_ab_{tolerance}"] = step_metrics.pixel_accuracy(
                rgb_true, rgb_pred, tolerance / 100
            )
        for tracker in self.trackers:
            tracker.update_state(terms[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.trackers}

    # ---- compile and save -----------------------------------------------------------------------
    def compile(self, g_optimizer, d_optimizer=None, **kwargs):
        g_optimizer = _optimizer_from_config(g_optimizer)
        d_optimizer = _optimizer_from_config(d_optimizer)
        if (d_optimizer is None) != (self.discriminator is None):
            raise ValueError("give d_optimizer exactly when the model has a discriminator")
        config = {"g_optimizer": _optimizer_config(g_optimizer),
                  "d_optimizer": _optimizer_config(d_optimizer) if d_optimizer is not None else None, **kwargs}
        mapping = keras.optimizers.OptimizerMap(g_optimizer, self._d_paths(d_optimizer))
        optimizer = keras.optimizers.MultiOptimizer(mapping)
        # Keras would wrap the MultiOptimizer in its loss-scale optimizer; the scales here are per network.
        super().compile(optimizer=optimizer, auto_scale_loss=False, **kwargs)
        # Built here, after both networks, so that no variable is created while a step is traced.
        self.optimizer.build(self.trainable_variables)
        self._gan_compile_config = config

    def _d_paths(self, d_optimizer):
        """The discriminator's variables by exact path, mapped to its optimizer (exact paths are
        escaped, and nothing depends on how its layers are named)."""
        if d_optimizer is None:
            return None
        d_paths = {v.path for v in self.discriminator.trainable_variables}
        shared = d_paths & {v.path for v in self.generator.trainable_variables}
        if shared:
            raise ValueError(f"the generator and the discriminator both have variables named {sorted(shared)[:3]}: "
                             "give their layers distinct names")
        return {re.escape(path): d_optimizer for path in sorted(d_paths)}

    def get_compile_config(self):
        return self._gan_compile_config

    def compile_from_config(self, config):
        self.compile(**config)

    def _seed_states(self):
        return [v for v in self.variables if v.path.endswith("seed_generator_state")]

    # Keras does not save SeedGenerator states (the GAN's, the dropout layers'); a resumed run
    # needs them to draw the same numbers as an uninterrupted one.
    def save_own_variables(self, store):
        super().save_own_variables(store)
        for i, state in enumerate(self._seed_states()):
            store[f"seed_state_{i}"] = state

    def load_own_variables(self, store):
        keys = list(store.keys())  # an H5 store is not iterable
        seeds = {k: store[k] for k in keys if k.startswith("seed_state_")}
        super().load_own_variables({k: store[k] for k in keys if k not in seeds})
        for i, state in enumerate(self._seed_states()):
            if f"seed_state_{i}" in seeds:
                state.assign(seeds[f"seed_state_{i}"])

    def get_config(self):
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "l1_weight": self.l1_weight,
            "generator_steps": self.generator_steps,
            "ema_decay": self.ema_decay,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
