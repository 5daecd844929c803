"""StyleGAN-lite: a small style-based SR generator.

The synthesis blocks are StyleGAN2's (Karras et al., "Analyzing and Improving
the Image Quality of StyleGAN", CVPR 2020, doi:10.1109/CVPR42600.2020.00813):
modulated and demodulated 3x3 convolutions, per-pixel noise injection with a
learned strength, and skip ``toRGB`` outputs summed across resolutions. For SR
the spatial content comes from the LR image: an encoder pools it into a
latent, a mapping MLP turns that latent into the style ``w`` shared by every
block, and the synthesis starts from LR-resolution features, doubling the
resolution once per block while halving the channels.

Noise is random while training; in eval mode it is drawn from a fixed seed so
that evaluation is reproducible (tiles of one image therefore get different
noise; the trained noise strengths are small).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._blocks import conv3x3


class ModulatedConv(nn.Module):
    """A convolution whose weights are scaled per sample by a style and (optionally) demodulated."""

    def __init__(self, in_channels: int, out_channels: int, style_dim: int, kernel_size: int = 3, demodulate: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.gain = 1 / math.sqrt(in_channels * kernel_size * kernel_size)  # equalized learning rate
        self.affine = nn.Linear(style_dim, in_channels)
        nn.init.ones_(self.affine.bias)  # styles start at 1: the plain convolution
        self.demodulate = demodulate
        self.padding = kernel_size // 2

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        n, in_channels, height, width = x.shape
        style = self.affine(w)  # (N, in)
        weight = self.gain * self.weight[None] * style[:, None, :, None, None]  # (N, out, in, k, k)
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.square().sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
        # One grouped convolution applies every sample's own weights.
        out_channels = weight.shape[1]
        out = F.conv2d(x.reshape(1, n * in_channels, height, width), weight.reshape(n * out_channels, in_channels, *weight.shape[3:]), padding=self.padding, groups=n)
        return out.view(n, out_channels, height, width)


class NoiseInjection(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        n, _, height, width = x.shape
        noise = torch.randn((n, 1, height, width), generator=generator, device=x.device, dtype=x.dtype)
        return x + self.strength * noise


class SynthesisBlock(nn.Module):
    """Upsample x2, two modulated convolutions with noise, and this resolution's RGB contribution."""

    def __init__(self, in_channels: int, out_channels: int, style_dim: int):
        super().__init__()
        self.conv1 = ModulatedConv(in_channels, out_channels, style_dim)
        self.noise1 = NoiseInjection(out_channels)
        self.conv2 = ModulatedConv(out_channels, out_channels, style_dim)
        self.noise2 = NoiseInjection(out_channels)
        self.bias1 = nn.Parameter(torch.zeros(1, out_channels, 1, 1))
        self.bias2 = nn.Parameter(torch.zeros(1, out_channels, 1, 1))
        self.to_rgb = ModulatedConv(out_channels, 3, style_dim, kernel_size=1, demodulate=False)

    def forward(self, x: Tensor, w: Tensor, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = F.leaky_relu(self.noise1(self.conv1(x, w), generator) + self.bias1, 0.2)
        x = F.leaky_relu(self.noise2(self.conv2(x, w), generator) + self.bias2, 0.2)
        return x, self.to_rgb(x, w)


class StyleSRGenerator(nn.Module):
    """Maps ``(N, 3, h, w)`` in ``[0, 1]`` to ``(N, 3, scale*h, scale*w)``; ``scale`` is a power of 2."""

    eval_noise_seed = 0

    def __init__(self, scale: int = 4, channels: int = 64, style_dim: int = 64, mapping_layers: int = 3):
        super().__init__()
        if scale < 2 or scale & (scale - 1):
            raise ValueError(f"stylegan-lite upsamples by doubling: scale must be a power of 2, got {scale}")
        self.scale = int(scale)
        self.encoder = nn.Sequential(
            conv3x3(3, channels), nn.LeakyReLU(0.2),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(channels, style_dim, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
        )
        mapping: list[nn.Module] = []
        for _ in range(mapping_layers):
            mapping += [nn.Linear(style_dim, style_dim), nn.LeakyReLU(0.2)]
        self.mapping = nn.Sequential(*mapping)
        self.features = nn.Sequential(conv3x3(3, channels), nn.LeakyReLU(0.2), conv3x3(channels, channels), nn.LeakyReLU(0.2))
        # Channels halve as the resolution doubles, so every block costs about the same.
        widths = [max(channels // 2**k, 8) for k in range(int(math.log2(scale)) + 1)]
        self.blocks = nn.ModuleList(SynthesisBlock(a, b, style_dim) for a, b in zip(widths, widths[1:]))

    def style(self, lr: Tensor) -> Tensor:
        """The ``(N, style_dim)`` style ``w`` of an LR image: encoder, global pooling, mapping MLP."""
        return self.mapping(self.encoder(lr).mean(dim=(2, 3)))

    def forward(self, lr: Tensor, style: Tensor | None = None) -> Tensor:
        """``style`` overrides the image's own, e.g. the whole image's when running on one tile of it."""
        w = self.style(lr) if style is None else style
        generator = None
        if not self.training:
            generator = torch.Generator(device=lr.device).manual_seed(self.eval_noise_seed)
        x, rgb = self.features(lr), lr
        for block in self.blocks:
            x, block_rgb = block(x, w, generator)
            rgb = F.interpolate(rgb, scale_factor=2, mode="bilinear", align_corners=False) + block_rgb
        return rgb if self.training else rgb.clamp(0, 1)
