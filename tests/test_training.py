"""training.build_model passes every generator and recipe parameter through."""

import pytest

from colorkit import params, training


@pytest.mark.parametrize("model", ["cgan", "l1"])
def test_build_model_passes_dropout_average_and_loss(model):
    config = params.load_params(None, {"model": model, "dropout": 0.5, "ema_decay": 0.99, "max_filters": 32,
                                       "adversarial_loss": "hinge", "image_size": 16, "base_filters": 4,
                                       "d_base_filters": 4, "d_layers": 1})
    gan = training.build_model(config, steps_per_epoch=2)
    generator = gan.generator.get_config()
    assert (generator["dropout"], generator["max_filters"]) == (0.5, 32)
    assert gan.ema_decay == 0.99 and gan.weight_average is not None
    assert any(layer.name.endswith("_drop") for layer in gan.generator.layers)
    if model == "cgan":
        assert gan.adversarial_loss == "hinge"
