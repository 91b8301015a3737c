"""Learning-rate schedules that the parameter files choose by name.

Every schedule counts training steps (`fit` batches), not its own optimizer's updates: a
discriminator updated `n_critic` times per step, or a generator updated `generator_steps` times,
would otherwise decay that many times faster than the other network. A schedule is given the
number of updates its optimizer makes per step and divides its optimizer's update count by it,
which is the training step exactly (each step makes the same number of updates).
"""

import keras
from keras import ops

SCHEDULES = ("constant", "exponential", "linear")


def _training_step(iterations, updates_per_step):
    return ops.floor(ops.cast(iterations, "float32") / updates_per_step)


@keras.saving.register_keras_serializable(package="colorkit")
class ExponentialFloor(keras.optimizers.schedules.LearningRateSchedule):
    """The original project's decay: max(floor, lr * 0.1 ** (step / decay_steps)).

    Args:
        learning_rate: float. Initial rate.
        decay_steps: int. Training steps for a tenfold decay. Defaults to 10000.
        floor: float. Lowest rate. Defaults to 1e-6.
        updates_per_step: int. Optimizer updates per training step. Defaults to 1.
    """

    def __init__(self, learning_rate, decay_steps=10000, floor=1e-6, updates_per_step=1):
        self.learning_rate = learning_rate
        self.decay_steps = decay_steps
        self.floor = floor
        self.updates_per_step = updates_per_step

    def __call__(self, iterations):
        step = _training_step(iterations, self.updates_per_step)
        return ops.maximum(self.floor, self.learning_rate * ops.power(0.1, step / self.decay_steps))

    def get_config(self):
        return {"learning_rate": self.learning_rate, "decay_steps": self.decay_steps, "floor": self.floor,
                "updates_per_step": self.updates_per_step}


@keras.saving.register_keras_serializable(package="colorkit")
class ConstantThenLinear(keras.optimizers.schedules.LearningRateSchedule):
    """pix2pix's schedule: constant for `constant_steps`, then linearly to 0 over `decay_steps`.

    Args:
        learning_rate: float. Initial rate.
        constant_steps: int. Training steps at the initial rate.
        decay_steps: int. Training steps of the linear decay.
        updates_per_step: int. Optimizer updates per training step. Defaults to 1.
    """

    def __init__(self, learning_rate, constant_steps, decay_steps, updates_per_step=1):
        self.learning_rate = learning_rate
        self.constant_steps = constant_steps
        self.decay_steps = decay_steps
        self.updates_per_step = updates_per_step

    def __call__(self, iterations):
        past = ops.maximum(0.0, _training_step(iterations, self.updates_per_step) - self.constant_steps)
        return self.learning_rate * ops.maximum(0.0, 1.0 - past / max(1, self.decay_steps))

    def get_config(self):
        return {"learning_rate": self.learning_rate, "constant_steps": self.constant_steps,
                "decay_steps": self.decay_steps, "updates_per_step": self.updates_per_step}


def learning_rate(kind, lr, decay_steps, total_steps=None, updates_per_step=1):
    """A rate or schedule by name: `constant`, `exponential` (the original) or `linear` (pix2pix,
    constant for the first half of `total_steps`, then linear decay). Steps are training steps;
    `updates_per_step` is how often the optimizer that uses it updates per training step."""
    if kind == "constant":
        return lr
    if kind == "exponential":
        return ExponentialFloor(lr, decay_steps, updates_per_step=updates_per_step)
    if kind == "linear":
        if not total_steps:
            raise ValueError("the linear schedule needs the total number of training steps")
        return ConstantThenLinear(lr, total_steps // 2, total_steps - total_steps // 2, updates_per_step)
    raise ValueError(f"lr_schedule must be one of {SCHEDULES}, got {kind!r}")
