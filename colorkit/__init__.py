"""colorkit: GAN image colorization on Keras 3 (TensorFlow, JAX, PyTorch)."""

__version__ = "0.1.0"
