import keras
import numpy as np
import pytest
from keras import ops

from colorkit.gan import WGANGP, losses
from colorkit.models import UNetGenerator


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_bce_with_logits_matches_the_definition():
    logits = np.array([-30.0, -2.0, 0.0, 0.5, 40.0], np.float32)
    for target in (0.0, 0.9, 1.0):
        x = logits.astype(np.float64)
        log_p, log_not_p = -np.logaddexp(0, -x), -np.logaddexp(0, x)  # log sigmoid(x), log sigmoid(-x)
        expected = -np.mean(target * log_p + (1 - target) * log_not_p)
        assert float(_np(losses.bce_with_logits(ops.convert_to_tensor(logits), target))) == pytest.approx(
            expected, rel=1e-5)


def test_discriminator_and_generator_losses_at_chance():
    zeros = ops.zeros((2, 4, 4, 1))
    assert float(_np(losses.discriminator_loss(zeros, zeros))) == pytest.approx(2 * np.log(2), rel=1e-6)
    assert float(_np(losses.generator_adversarial_loss(zeros))) == pytest.approx(np.log(2), rel=1e-6)


def test_l1_and_gradient_penalty_values():
    a, b = np.zeros((1, 2, 2, 2), np.float32), np.full((1, 2, 2, 2), 0.25, np.float32)
    assert float(_np(losses.l1_loss(a, b))) == pytest.approx(0.25)
    grads = np.zeros((2, 2, 2, 2), np.float32)
    grads[0, 0, 0, 0], grads[1] = 3.0, np.sqrt(0.5)  # norms 3 and 2
    assert float(_np(losses.gradient_penalty(grads))) == pytest.approx(((3 - 1) ** 2 + (2 - 1) ** 2) / 2, rel=1e-6)


def test_gradient_penalty_of_a_linear_critic_in_a_real_train_step():
    """A 1x1 linear critic has an input gradient known in closed form: the penalty that the
    train step computes, through each backend's double-differentiable gradient, must match it."""
    size, w_l, w_a, w_b = 8, 0.7, 14.4, 19.2
    l_in, ab_in = keras.Input((size, size, 1)), keras.Input((size, size, 2))
    out = keras.layers.Conv2D(1, 1, use_bias=False, name="d_linear")(keras.layers.Concatenate()([l_in, ab_in]))
    critic = keras.Model([l_in, ab_in], out)
    critic.get_layer("d_linear").set_weights([np.array([w_l, w_a, w_b], np.float32).reshape(1, 1, 3, 1)])
    gan = WGANGP(UNetGenerator(size, base_filters=4), critic, n_critic=1, seed=0)
    gan.compile(keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0))
    rng = np.random.default_rng(0)
    logs = gan.train_on_batch(rng.uniform(-1, 1, (4, size, size, 1)).astype(np.float32),
                              rng.uniform(-0.5, 0.5, (4, size, size, 2)).astype(np.float32), return_dict=True)
    # score = mean over pixels of w.x, so |d score / d ab| = |(w_a, w_b)| / sqrt(H W) = 24 / 8 = 3.
    assert float(logs["gp"]) == pytest.approx((3.0 - 1.0) ** 2, rel=1e-5)
