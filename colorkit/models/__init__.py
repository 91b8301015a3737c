"""The two networks: a U-Net generator and a PatchGAN discriminator."""

from colorkit.models.layers import PhaseConv2DTranspose
from colorkit.models.patch_discriminator import PatchDiscriminator
from colorkit.models.unet_generator import PRESETS, UNetGenerator

__all__ = ["PRESETS", "PatchDiscriminator", "PhaseConv2DTranspose", "UNetGenerator"]
