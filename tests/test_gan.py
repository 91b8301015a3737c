import keras
import numpy as np
import pytest
from helpers import TINY_GAN, assert_same_weights, fit_then_resume, max_abs_diff, numpy_values, sample_lab

from colorkit import checkpoints
from colorkit.gan import CGAN, WGANGP, L1Regression, build_gan
from colorkit.gan.schedules import ExponentialFloor

SIZE = 16


@pytest.fixture(scope="module")
def photos():
    """Real photographs (the embedded sample's windows) at 16 px, as network-scaled (L, ab)."""
    return sample_lab(SIZE, 48)


def _gan(model, **kwargs):
    keras.utils.set_random_seed(7)
    return build_gan(model, SIZE, seed=7, **TINY_GAN, **kwargs)


@pytest.mark.parametrize("model", ["l1", "cgan"])
def test_short_fit_on_real_photos_lowers_the_l1_term(photos, model):
    l, ab = photos
    history = _gan(model, lr=1e-3).fit(l, ab, batch_size=8, epochs=6, verbose=0).history
    assert history["g_l1"][-1] < 0.8 * history["g_l1"][0]


def test_unknown_model_names_the_choices():
    with pytest.raises(ValueError, match=r"model must be one of \['cgan', 'l1', 'wgangp'\]"):
        build_gan("dcgan", SIZE)


def test_same_seed_gives_the_same_losses(photos):
    l, ab = photos
    runs = [_gan("cgan", dropout=0.5).fit(l[:16], ab[:16], batch_size=8, epochs=2, shuffle=False,
                                                         verbose=0).history for _ in range(2)]
    assert runs[0] == runs[1]


@pytest.mark.parametrize("model", ["cgan", "wgangp"])
def test_resumed_training_ends_with_the_same_weights(photos, model, tmp_path):
    """N steps, or N/2 steps, save, load into a fresh model and N/2 steps: the same weights."""
    l, ab = photos[0][:32], photos[1][:32]
    # The original CGAN recipe (2 generator steps), dropout and a decaying rate exercise every state.
    options = {"n_critic": 2, "generator_steps": 2 if model == "cgan" else 1, "dropout": 0.5,
               "lr_schedule": "exponential", "lr_decay_steps": 3}
    gan = _gan(model, **options)
    resumed = fit_then_resume(gan, l, ab, tmp_path / "half.keras")
    assert max_abs_diff(numpy_values(gan.variables), numpy_values(resumed.variables)) == 0.0
    assert max_abs_diff(numpy_values(gan.optimizer.variables), numpy_values(resumed.optimizer.variables)) == 0.0
    steps = [int(keras.ops.convert_to_numpy(o.iterations)) for o in (gan.optimizer, gan.d_optimizer, gan.g_optimizer)]
    assert steps == ([8, 8, 16] if model == "cgan" else [8, 16, 8])  # 4 batches x 2 epochs


def test_saved_gan_keeps_its_class_options_and_optimizers(tmp_path):
    gan = _gan("wgangp", n_critic=4, gp_weight=5.0, lr=3e-4, lr_schedule="exponential", lr_decay_steps=100)
    gan.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras", safe_mode=True)
    assert type(loaded) is WGANGP
    assert (loaded.n_critic, loaded.gp_weight, loaded.l1_weight, loaded.seed) == (4, 5.0, 100.0, 7)
    assert loaded.get_config() == gan.get_config()
    assert_same_weights(loaded.generator, gan.generator)
    assert_same_weights(loaded.discriminator, gan.discriminator)
    # Adam(beta_1 0.5, beta_2 0.9: WGAN-GP's), each network's decay counted in its own updates.
    for name, updates_per_step in (("g_optimizer", 1), ("d_optimizer", 4)):
        saved, original = getattr(loaded, name), getattr(gan, name)
        # Exactly Adam (on torch, Keras' torch subclass of it, on both sides).
        assert type(saved) is type(original) and type(saved).__name__ == "Adam"
        assert isinstance(saved, keras.optimizers.Adam)
        assert saved.get_config() == original.get_config()
        assert (saved.beta_1, saved.beta_2) == (0.5, pytest.approx(0.9))
        schedule = saved._learning_rate
        assert type(schedule) is ExponentialFloor
        assert schedule.get_config() == {"learning_rate": pytest.approx(3e-4), "decay_steps": 100, "floor": 1e-6,
                                         "updates_per_step": updates_per_step}
    assert loaded.get_compile_config() == gan.get_compile_config()
    assert type(_gan("cgan")) is CGAN and type(_gan("l1")) is L1Regression


def _seed_state(gan):
    return keras.ops.convert_to_numpy(gan.seed_generator.state)


def test_wgangp_draws_new_interpolation_weights_per_sample_and_per_critic_update(photos):
    """The real alpha ~ U(0, 1) of the penalty's x_hat (elsewhere tests fix it), one per sample."""
    gan = _gan("wgangp", n_critic=2)
    first, second = (keras.ops.convert_to_numpy(gan.interpolation_weights(8)) for _ in range(2))
    assert first.shape == (8, 1, 1, 1) and first.dtype == np.float32
    assert len(np.unique(first)) == 8 and not np.array_equal(first, second)
    many = keras.ops.convert_to_numpy(gan.interpolation_weights(4096)).ravel()
    assert many.min() >= 0.0 and many.max() <= 1.0
    assert many.mean() == pytest.approx(0.5, abs=0.02) and many.std() == pytest.approx(12**-0.5, abs=0.02)
    # A training step draws from the model's seeded generator once per critic update: after one
    # step (n_critic = 2) the next alphas are the third draw of a twin that was not trained.
    trained, twin = _gan("wgangp", n_critic=2), _gan("wgangp", n_critic=2)
    before = _seed_state(trained)
    trained.fit(photos[0][:8], photos[1][:8], batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert not np.array_equal(_seed_state(trained), before)
    draws = [keras.ops.convert_to_numpy(twin.interpolation_weights(8)) for _ in range(3)]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(trained.interpolation_weights(8)), draws[2])
    assert not np.array_equal(draws[0], draws[1])


@pytest.mark.parametrize("model, options", [("cgan", {"generator_steps": 2}), ("wgangp", {"n_critic": 5})])
def test_every_schedule_counts_training_steps(photos, model, options):
    """After N steps both networks' rates are the schedule at N, however often each updates."""
    l, ab = photos[0][:32], photos[1][:32]
    for kind in ("exponential", "linear"):
        gan = _gan(model, lr_schedule=kind, lr_decay_steps=4, total_steps=12, **options)
        gan.fit(l, ab, batch_size=8, epochs=2, shuffle=False, verbose=0)  # 8 training steps
        expected = 2e-4 * 0.1 ** (8 / 4) if kind == "exponential" else 2e-4 * (1 - (8 - 6) / 6)
        for optimizer in (gan.g_optimizer, gan.d_optimizer):
            assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(expected, rel=1e-5)


def test_weight_average_is_what_is_evaluated_and_saved(photos, tmp_path):
    l, ab = photos[0][:32], photos[1][:32]
    gan = _gan("cgan", ema_decay=0.5, lr=1e-3)
    start = numpy_values(gan.generator.trainable_variables)
    gan.fit(l, ab, batch_size=8, epochs=1, shuffle=False, verbose=0)
    live = numpy_values(gan.generator.trainable_variables)
    averaged = numpy_values(gan.inference_generator().trainable_variables)
    assert max_abs_diff(averaged, live) > 0 and max_abs_diff(averaged, start) > 0
    # One copy, refreshed on each call; predicting with it (JAX donates its buffers) leaves the average intact.
    copy = gan.inference_generator()
    copy.predict(l[:8], verbose=0)
    again = gan.inference_generator()
    assert max_abs_diff(numpy_values(again.trainable_variables), averaged) == 0.0 and again is copy
    # The average of the last steps lies between the start and the live weights, closer to the latter.
    assert sum(np.abs(a - w).sum() for a, w in zip(averaged, live)) < sum(
        np.abs(s - w).sum() for s, w in zip(start, live))
    checkpoints.save_model(gan, tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras", safe_mode=True)
    assert max_abs_diff(numpy_values(loaded.inference_generator().trainable_variables), averaged) == 0.0
    assert _gan("cgan").inference_generator() is not None and _gan("cgan").weight_average is None


def test_hinge_loss_option(photos):
    gan = _gan("cgan", adversarial_loss="hinge")
    history = gan.fit(photos[0][:16], photos[1][:16], batch_size=8, epochs=1, verbose=0).history
    assert np.isfinite(history["d_loss"][0]) and gan.get_config()["adversarial_loss"] == "hinge"
    with pytest.raises(ValueError, match="adversarial_loss must be one of"):
        _gan("cgan", adversarial_loss="wasserstein")


def test_feature_matching_term(photos):
    """The discriminator's features end in the logits its call gives; the term is 0 on a perfect
    colorization, trains, and is kept in the config."""
    l, ab = photos[0][:16], photos[1][:16]
    gan = _gan("cgan", feature_matching_weight=10.0)
    d = gan.discriminator
    activations, logits = d.features(l[:4], ab[:4])
    assert len(activations) == d.n_layers + 1
    np.testing.assert_allclose(keras.ops.convert_to_numpy(logits), keras.ops.convert_to_numpy(d([l[:4], ab[:4]])),
                               atol=1e-6)
    l4, ab4 = keras.ops.convert_to_tensor(l[:4]), keras.ops.convert_to_tensor(ab[:4])
    _, terms = gan.generator_objective(l4, ab4, ab4, training=False)
    assert float(keras.ops.convert_to_numpy(terms["g_fm"])) == 0.0
    history = gan.fit(l, ab, batch_size=8, epochs=1, verbose=0).history
    assert history["g_fm"][0] > 0 and np.isfinite(history["g_loss"][0])
    assert history["g_loss"][0] > history["g_adv"][0] + 100 * history["g_l1"][0]
    assert gan.get_config()["feature_matching_weight"] == 10.0
    assert _gan("cgan").fit(l, ab, batch_size=8, epochs=1, verbose=0).history["g_fm"] == [0.0]


def test_discriminator_variables_go_to_its_optimizer_whatever_their_names(photos):
    from colorkit.models import PatchDiscriminator, UNetGenerator

    # Layer names without the d_ prefix the optimizer mapping once relied on.
    discriminator = PatchDiscriminator(16, base_filters=4, n_layers=1, name="critic")
    for layer in discriminator.layers:
        layer.name = layer.name.replace("d_", "critic_")
    gan = CGAN(UNetGenerator(16, base_filters=4, name="generator"), discriminator)
    gan.compile(keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.1))  # only D learns
    g_before = numpy_values(gan.generator.trainable_variables)
    d_before = numpy_values(discriminator.trainable_variables)
    l, ab = photos
    gan.fit(l[:8], ab[:8], batch_size=8, epochs=1, verbose=0)
    assert max_abs_diff(numpy_values(gan.generator.trainable_variables), g_before) == 0.0
    assert max_abs_diff(numpy_values(discriminator.trainable_variables), d_before) > 0.0
    assert {id(v) for v in gan.d_optimizer._trainable_variables} == {id(v) for v in discriminator.trainable_variables}
