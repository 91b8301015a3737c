"""GAN and reconstruction losses, written once with keras.ops."""

from keras import ops


def bce_with_logits(logits, target):
    """Mean binary cross-entropy of logits against a constant target, numerically stable."""
    return ops.mean(ops.relu(logits) - logits * target + ops.softplus(-ops.abs(logits)))


def discriminator_loss(real_logits, fake_logits, real_label=1.0):
    """Conditional GAN discriminator loss; `real_label` < 1 is one-sided label smoothing."""
    return bce_with_logits(real_logits, real_label) + bce_with_logits(fake_logits, 0.0)


def generator_adversarial_loss(fake_logits):
    """Non-saturating generator loss: -log D(G(x)) (Goodfellow et al. 2014)."""
    return bce_with_logits(fake_logits, 1.0)


def hinge_discriminator_loss(real_logits, fake_logits):
    """Hinge loss of the discriminator: mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))
    (Lim & Ye 2017; Miyato et al. 2018, https://arxiv.org/abs/1802.05957)."""
    return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))


def hinge_generator_loss(fake_logits):
    """The generator's side of the hinge loss: -mean(D(G(x)))."""
    return -ops.mean(fake_logits)


def feature_matching_loss(real_features, fake_features):
    """Sum over the discriminator's layers of mean |f(real) - f(fake)|, the real side held fixed
    (Salimans et al. 2016; pix2pixHD, Wang et al. 2018, https://arxiv.org/abs/1711.11585)."""
    return sum(ops.mean(ops.abs(ops.stop_gradient(r) - f)) for r, f in zip(real_features, fake_features, strict=True))


def l1_loss(ab_true, ab_pred):
    return ops.mean(ops.abs(ab_true - ab_pred))


def critic_scores(critic_logits):
    """One Wasserstein critic value per sample: the mean over its patch map."""
    return ops.mean(critic_logits, axis=(1, 2, 3))


def gradient_penalty(gradients, epsilon=1e-12):
    """mean((||g||_2 - 1)^2) over samples, epsilon inside the square root to keep it differentiable."""
    norms = ops.sqrt(ops.sum(ops.square(gradients), axis=(1, 2, 3)) + epsilon)
    return ops.mean(ops.square(norms - 1.0))
