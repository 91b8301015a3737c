"""PyTorch's own kernels where Keras' torch backend chains many ops or copies layouts: convolutions and
batch norm in the memory order oneDNN takes (used by `colorkit.models.layers` on PyTorch) and Adam's
fused update (used by `colorkit.backends.torch.apply_gradients`). Each gives Keras' result."""

import keras
import torch
import torch.nn.functional as F


def fused_adam(optimizer, grads, variables):
    """One Keras Adam update of `variables` in torch's fused kernel; False (nothing done) where the
    kernel does not apply: another optimizer or an Adam option it does not cover, or a gradient that
    is not float32."""
    _match_slot_layouts(optimizer, variables)
    moments = _plain_adam_moments(optimizer, variables)
    if moments is None or any(g.dtype != torch.float32 for g in grads):
        return False
    # Keras divides by sqrt(v) + eps after its bias correction, torch adds eps after sqrt(v / bc2):
    # the same update with eps / sqrt(bc2).
    step = float(optimizer.iterations.numpy()) + 1.0
    beta_1, beta_2 = optimizer.beta_1, optimizer.beta_2
    momentums, velocities = moments
    # The kernel works on contiguous tensors (it copies others in and out): each weight, its gradient and its
    # moments share one memory order (`_match_slot_layouts`), so one permutation makes all four contiguous views.
    params, grads = [v.value for v in variables], list(grads)
    for i, param in enumerate(params):
        if not param.is_contiguous():
            order = sorted(range(param.ndim), key=lambda d: -param.stride(d))
            params[i], grads[i], momentums[i], velocities[i] = (
                t.permute(order) for t in (param, grads[i], momentums[i], velocities[i]))
    torch._fused_adam_(params, grads, momentums, velocities, [],
                       [torch.tensor(step)] * len(variables), lr=float(optimizer.learning_rate), beta1=beta_1,
                       beta2=beta_2, weight_decay=0.0, eps=optimizer.epsilon / (1.0 - beta_2**step) ** 0.5,
                       amsgrad=False, maximize=False)
    optimizer.iterations.assign_add(1)
    return True


def _plain_adam_moments(optimizer, variables):
    """For a Keras Adam with nothing but the Adam update (no clipping, decay, EMA, accumulation,
    loss scale, constraint) on float32 CPU weights: its first and second moments per variable, in
    `variables`' order; otherwise None."""
    if (type(optimizer).__name__ != "Adam" or not isinstance(optimizer, keras.optimizers.Adam)
            or optimizer.amsgrad or optimizer.weight_decay or optimizer.clipnorm or optimizer.clipvalue
            or optimizer.global_clipnorm or optimizer.use_ema or optimizer.gradient_accumulation_steps
            or optimizer.loss_scale_factor is not None or not optimizer.built
            or not all(isinstance(b, float) for b in (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon))
            or any(v.constraint is not None or v.overwrite_with_gradient or v.dtype != "float32"
                   or v.value.device.type != "cpu" for v in variables)):
        return None
    slots = {s.path.split("/")[-1]: s.value for s in optimizer.variables}
    moments = [[slots.get(f"{v.path.replace('/', '_')}_{kind}") for v in variables]
               for kind in ("momentum", "velocity")]
    if any(s is None or s.stride() != v.value.stride() for m in moments for s, v in zip(m, variables)):
        return None
    return moments


def _match_slot_layouts(optimizer, variables):
    """Give the optimizer's slots (moments) of a kernel stored in torch's order (`native_kernel`)
    that order too, once: Keras creates them dense in the logical shape, and an element-wise
    update mixing two memory orders runs several times slower than a dense one."""
    done = optimizer.__dict__.setdefault("_colorkit_matched", set())
    kernels = {f"{v.path.replace('/', '_')}_": v for v in variables
               if id(v) not in done and not v.value.is_contiguous()}
    if not kernels:
        return
    for slot in optimizer.variables:
        kernel = next((v for prefix, v in kernels.items() if slot.path.split("/")[-1].startswith(prefix)), None)
        if kernel is not None and slot.shape == kernel.shape and slot.value.stride() != kernel.value.stride():
            # Keras offers no public way to choose a variable's memory order.
            slot._value = torch.nn.Parameter(torch.empty_like(kernel.value).copy_(slot.value), requires_grad=False)
    done.update(id(v) for v in kernels.values())


# Convolutions in the layouts oneDNN takes without copies. An NHWC activation seen as NCHW is
# torch's channels_last, so it needs only a view; the kernel keeps Keras' logical shape (HWIO, or
# HWOI for a transposed convolution) but lies in memory as channels_last OIHW (IOHW): OHWI (IHWO).
# Then the kernel is a view too, its gradient comes back with the variable's own strides, and
# batch statistics, Adam and the next layer read dense NHWC tensors. Keras' own torch convolutions
# copy both the activation (NHWC -> NCHW -> channels_last) and the kernel on every call.
def native_kernel(value):
    """`value` (Keras' kernel layout) in the memory order above, same logical shape."""
    return value.permute(3, 0, 1, 2).contiguous().permute(1, 2, 3, 0)


def _same_padding(x, kernel_size, strides):
    """TensorFlow's "same": symmetric pads go to the kernel, asymmetric ones are applied first."""
    pads = []
    for size, k, s in zip(x.shape[2:], kernel_size, strides):
        total = max((-(-size // s) - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    if all(a == b for a, b in pads):
        return x, [a for a, _ in pads]
    (top, bottom), (left, right) = pads
    return F.pad(x, (left, right, top, bottom)), 0


def _nchw(inputs, kernel):
    """The NHWC input and the Keras kernel as torch's NCHW and OIHW (IOHW) views."""
    x, kernel = keras.ops.convert_to_tensor(inputs), keras.ops.convert_to_tensor(kernel)
    weight = kernel.permute(3, 2, 0, 1)
    if weight.dtype in (torch.float16, torch.bfloat16) and weight.device.type == "cpu":
        # oneDNN has no float16 here, nor bfloat16 on a CPU without AVX-512 BF16 or AMX: the reference
        # kernels (slow_conv2d) then want a dense kernel. A half-precision kernel is a fresh cast anyway.
        weight = weight.contiguous()
    return x.permute(0, 3, 1, 2), weight


def conv2d(inputs, kernel, strides, padding):
    """`ops.conv` for NHWC inputs and an HWIO kernel, dilation 1, no groups."""
    x, weight = _nchw(inputs, kernel)
    pad = 0
    if padding == "same":
        x, pad = _same_padding(x, weight.shape[2:], strides)
    return F.conv2d(x, weight, stride=tuple(strides), padding=pad).permute(0, 2, 3, 1)


def conv2d_transpose_4x4_s2(inputs, kernel):
    """`ops.conv_transpose(..., strides=2, padding="same")` for NHWC inputs and a 4x4 HWOI kernel:
    "same" pads one row and column on each side, which is torch's `padding=1`."""
    x, weight = _nchw(inputs, kernel)
    out = F.conv_transpose2d(x, weight, stride=2, padding=1)
    return out.permute(0, 2, 3, 1)


def batch_norm(inputs, gamma, beta, moving_mean, moving_variance, epsilon, training):
    """Keras' `BatchNormalization` of NHWC float32 `inputs` over all but the channel axis, in torch's
    one-pass kernel instead of Keras' chain of element-wise ops: (outputs, batch mean, batch variance)
    when training (the biased variance, Keras' moving-statistics update), else (outputs, None, None)."""
    x = keras.ops.convert_to_tensor(inputs).permute(0, 3, 1, 2)  # channels_last NCHW: a view
    gamma, beta = keras.ops.convert_to_tensor(gamma), keras.ops.convert_to_tensor(beta)
    if not training:
        mean, variance = keras.ops.convert_to_tensor(moving_mean), keras.ops.convert_to_tensor(moving_variance)
        return F.batch_norm(x, mean, variance, gamma, beta, False, 0.0, epsilon).permute(0, 2, 3, 1), None, None
    outputs, mean, inverse_std = torch.native_batch_norm(x, gamma, beta, None, None, True, 0.0, epsilon)
    # The kernel's 1 / sqrt(var + eps) gives var back to float32 rounding (a second pass over x, as
    # torch.var makes over a channels_last tensor, costs more than the normalization itself).
    variance = inverse_std.detach().pow(-2) - epsilon
    return outputs.permute(0, 2, 3, 1), mean.detach(), variance
