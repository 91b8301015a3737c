"""The two networks: a U-Net generator and a PatchGAN discriminator."""

from colorkit.models.layers import PhaseConv2DTranspose
from colorkit.models.patch_discriminator import PatchDiscriminator
from colorkit.models.unet_generator import LAYOUTS, UNetGenerator
from colorkit.registration import register

register(finished=__name__)  # the GAN classes too, when this package was what imported Keras

__all__ = ["LAYOUTS", "PatchDiscriminator", "PhaseConv2DTranspose", "UNetGenerator"]
