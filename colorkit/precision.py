"""Which Keras dtype policy a run trains with: `precision: auto | float32 | mixed_bfloat16 | mixed_float16`.

`auto` takes mixed_bfloat16 where the chip computes bfloat16 natively, and float32 elsewhere:

- GPUs from NVIDIA Ampere on (compute capability 8.0 and up);
- CPUs with AMX-BF16 or AVX-512 BF16 (oneDNN's bfloat16 kernels). An AVX2-only CPU emulates
  bfloat16 and runs it several times slower than float32.
"""

from pathlib import Path

CHOICES = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
NATIVE_BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
MIN_BF16_COMPUTE_CAPABILITY = 8.0


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The CPU's feature flags (Linux), or an empty set where they cannot be read."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def gpu_compute_capability(backend):
    """The first GPU's CUDA compute capability as a float (e.g. 9.0 for an H200), or None without one."""
    if backend == "torch":
        import torch

        return float("{}.{}".format(*torch.cuda.get_device_capability(0))) if torch.cuda.is_available() else None
    if backend == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        capability = getattr(gpus[0], "compute_capability", None) if gpus else None
        return float(capability) if capability else None
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
    return float("{}.{}".format(*capability)) if capability else None


def native_bfloat16(backend, flags=None):
    """(bool, why): whether the device that trains computes bfloat16 natively."""
    capability = gpu_compute_capability(backend)
    if capability is not None:
        native = capability >= MIN_BF16_COMPUTE_CAPABILITY
        return native, f"GPU compute capability {capability}"
    found = cpu_bfloat16_flags(flags)
    return bool(found), f"CPU with {', '.join(found)}" if found else "CPU without AMX-BF16 or AVX-512 BF16"


def cpu_bfloat16_flags(flags=None):
    """The CPU's flags among NATIVE_BF16_CPU_FLAGS (empty: bfloat16 is emulated, or unknown)."""
    flags = cpu_flags() if flags is None else flags
    return [f for f in NATIVE_BF16_CPU_FLAGS if f in flags]


def resolve(precision, backend, flags=None):
    """(policy, why): the Keras dtype policy for `precision` on this machine and `backend`."""
    if precision != "auto":
        return precision, "set by the parameters"
    native, why = native_bfloat16(backend, flags)
    return ("mixed_bfloat16" if native else "float32"), why
