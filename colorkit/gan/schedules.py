"""Learning-rate schedules that the parameter files choose by name."""

import keras
from keras import ops

SCHEDULES = ("constant", "exponential", "linear")


@keras.saving.register_keras_serializable(package="colorkit")
class ExponentialFloor(keras.optimizers.schedules.LearningRateSchedule):
    """The original project's decay: max(floor, lr * 0.1 ** (step / decay_steps)).

    Args:
        learning_rate: float. Initial rate.
        decay_steps: int. Steps for a tenfold decay. Defaults to 10000.
        floor: float. Lowest rate. Defaults to 1e-6.
    """

    def __init__(self, learning_rate, decay_steps=10000, floor=1e-6):
        self.learning_rate = learning_rate
        self.decay_steps = decay_steps
        self.floor = floor

    def __call__(self, step):
        rate = self.learning_rate * ops.power(0.1, ops.cast(step, "float32") / self.decay_steps)
        return ops.maximum(self.floor, rate)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "decay_steps": self.decay_steps, "floor": self.floor}


@keras.saving.register_keras_serializable(package="colorkit")
class ConstantThenLinear(keras.optimizers.schedules.LearningRateSchedule):
    """pix2pix's schedule: constant for `constant_steps`, then linearly to 0 over `decay_steps`.

    Args:
        learning_rate: float. Initial rate.
        constant_steps: int. Steps at the initial rate.
        decay_steps: int. Steps of the linear decay.
    """

    def __init__(self, learning_rate, constant_steps, decay_steps):
        self.learning_rate = learning_rate
        self.constant_steps = constant_steps
        self.decay_steps = decay_steps

    def __call__(self, step):
        past = ops.maximum(0.0, ops.cast(step, "float32") - self.constant_steps)
        return self.learning_rate * ops.maximum(0.0, 1.0 - past / max(1, self.decay_steps))

    def get_config(self):
        return {"learning_rate": self.learning_rate, "constant_steps": self.constant_steps,
                "decay_steps": self.decay_steps}


def learning_rate(kind, lr, decay_steps, total_steps=None):
    """A rate or schedule by name: `constant`, `exponential` (the original) or `linear` (pix2pix,
    constant for the first half of `total_steps`, then linear decay)."""
    if kind == "constant":
        return lr
    if kind == "exponential":
        return ExponentialFloor(lr, decay_steps)
    if kind == "linear":
        if not total_steps:
            raise ValueError("the linear schedule needs the total number of training steps")
        return ConstantThenLinear(lr, total_steps // 2, total_steps - total_steps // 2)
    raise ValueError(f"lr_schedule must be one of {SCHEDULES}, got {kind!r}")
