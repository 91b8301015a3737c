"""Mixed precision: a short run on real photos stays finite under each policy, on every backend,
and mixed float16 scales each network's loss with its own dynamic loss scale."""

import keras
import numpy as np
import pytest
from helpers import TINY_GAN, sample_lab

from colorkit import checkpoints, training
from colorkit.gan import build_gan

SIZE = 16
TINY = {**TINY_GAN, "n_critic": 2}


@pytest.fixture(scope="module")
def photos():
    return sample_lab(SIZE, 32)


@pytest.fixture
def policy(request):
    keras.mixed_precision.set_global_policy(request.param)
    yield request.param
    keras.mixed_precision.set_global_policy("float32")


def _finite(values):
    return all(np.all(np.isfinite(keras.ops.convert_to_numpy(v))) for v in values)


# WGAN-GP under float16 only: its critic's own loss scale (n_critic updates a step) is what it adds; under
# bfloat16 (no loss scale) it runs the layers cgan runs.
@pytest.mark.parametrize("policy, model", [("mixed_bfloat16", "cgan"), ("mixed_float16", "cgan"),
                                           ("mixed_float16", "wgangp")], indirect=["policy"])
def test_short_mixed_precision_run_stays_finite(photos, model, policy):
    keras.utils.set_random_seed(3)
    gan = build_gan(model, SIZE, seed=3, lr=1e-3, **TINY)
    compute = policy.removeprefix("mixed_")
    assert {layer.compute_dtype for layer in gan.generator.layers if layer.weights} == {compute}
    assert all(v.dtype == "float32" for v in gan.trainable_variables)  # weights stay float32
    history = gan.fit(*photos, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    assert all(np.isfinite(value) for values in history.values() for value in values), history
    assert history["g_l1"][-1] < history["g_l1"][0]
    assert _finite(gan.trainable_variables)
    assert sorted(gan.loss_scales) == (["discriminator", "generator"] if policy == "mixed_float16" else [])
    for loss_scale in gan.loss_scales.values():
        # 12 updates of the generator, 24 of the critic (n_critic 2) or 12 of the discriminator:
        # every skipped one halved the scale and was not counted by its optimizer.
        scale = float(keras.ops.convert_to_numpy(loss_scale.scale))
        assert 0 < scale <= 2.0**15
    if policy == "mixed_float16":
        halvings = round(np.log2(2.0**15 / float(keras.ops.convert_to_numpy(gan.loss_scales["generator"].scale))))
        assert int(keras.ops.convert_to_numpy(gan.g_optimizer.iterations)) == 12 - halvings


@pytest.mark.parametrize("policy", ["mixed_float16"], indirect=True)
def test_mixed_float16_checkpoint_restores_its_loss_scales(photos, policy, tmp_path):
    gan = build_gan("cgan", SIZE, seed=3, **TINY)
    gan.fit(*photos, batch_size=8, epochs=1, shuffle=False, verbose=0)
    checkpoints.save_model(gan, tmp_path / "mixed.keras")
    # A resumed run sets its precision before loading (colorkit.training.start_run).
    restored = keras.saving.load_model(tmp_path / "mixed.keras", safe_mode=True)
    assert sorted(restored.loss_scales) == ["discriminator", "generator"]
    for a, b in zip(gan.variables + gan.optimizer.variables, restored.variables + restored.optimizer.variables,
                    strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


@pytest.mark.backend_independent
@pytest.mark.parametrize("flags, expected", [
    ({"avx2", "avx512f", "avx512_bf16"}, "mixed_bfloat16"),
    ({"avx2", "amx_bf16", "amx_tile"}, "mixed_bfloat16"),
    ({"avx2", "fma"}, "float32"),  # bfloat16 would be emulated, several times slower
    (set(), "float32"),
])
def test_auto_precision_follows_the_chip(flags, expected):
    from colorkit import precision

    if precision.gpu_compute_capability(keras.config.backend()) is not None:
        pytest.skip("a GPU decides instead of the CPU flags")
    policy, why = precision.resolve("auto", "jax", flags=flags)
    assert policy == expected and ("without" in why) == (expected == "float32")
    assert precision.resolve("mixed_float16", "jax", flags=flags) == ("mixed_float16", "set by the parameters")
    assert precision.resolve("auto", "torch", flags=flags)[0] == expected


@pytest.mark.backend_independent
def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    from colorkit import precision

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\n\nprocessor\t: 1\nflags\t\t: fpu avx2\n")
    assert precision.cpu_flags(info) == {"fpu", "avx2", "avx512_bf16"}
    assert precision.cpu_flags(tmp_path / "missing") == set()


def test_auto_precision_trains_with_the_policy_it_resolves():
    policy = training.check_precision("auto")
    assert policy in ("float32", "mixed_bfloat16")
