"""An encoder-decoder SR network with skip connections (U-Net / RED style).

Ronneberger et al., U-Net, MICCAI 2015, doi:10.1007/978-3-319-24574-4_28; Mao et
al., RED-Net, NeurIPS 2016 (arXiv:1603.09056). The LR image is encoded over two
stride-2 levels, decoded back with the encoder features added as skips, then
upsampled with pixel shuffle; the output is a residual over the interpolated input.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ._blocks import PixelShuffleUpsampler, conv3x3, upsampled_input


def _stage(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(conv3x3(in_channels, out_channels), nn.ReLU(inplace=True), conv3x3(out_channels, out_channels), nn.ReLU(inplace=True))


class AutoencoderSR(nn.Module):
    """Maps ``(N, 3, h, w)`` in ``[0, 1]`` to ``(N, 3, scale*h, scale*w)``; any ``h, w`` (padded to a multiple of 4)."""

    levels = 2

    def __init__(self, scale: int = 4, channels: int = 32):
        super().__init__()
        self.scale = int(scale)
        c = channels
        self.head = nn.Sequential(conv3x3(3, c), nn.ReLU(inplace=True))
        self.encode1 = _stage(c, c)
        self.down1 = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)
        self.encode2 = _stage(2 * c, 2 * c)
        self.down2 = nn.Conv2d(2 * c, 4 * c, 3, stride=2, padding=1)
        self.bottleneck = _stage(4 * c, 4 * c)
        self.up2 = nn.ConvTranspose2d(4 * c, 2 * c, 2, stride=2)
        self.decode2 = _stage(2 * c, 2 * c)
        self.up1 = nn.ConvTranspose2d(2 * c, c, 2, stride=2)
        self.decode1 = _stage(c, c)
        self.upsample = PixelShuffleUpsampler(c, self.scale)

    def forward(self, lr: Tensor) -> Tensor:
        height, width = lr.shape[-2:]
        multiple = 2**self.levels
        pad_bottom, pad_right = -height % multiple, -width % multiple
        # Edge replication keeps the borders natural; the padding is cropped off the output below.
        padded = F.pad(lr, (0, pad_right, 0, pad_bottom), mode="replicate")
        x0 = self.head(padded)
        x1 = self.encode1(x0)
        x2 = self.encode2(self.down1(x1))
        x3 = self.bottleneck(self.down2(x2))
        y2 = self.decode2(self.up2(x3) + x2)
        y1 = self.decode1(self.up1(y2) + x1) + x0
        residual = self.upsample(y1)[..., : height * self.scale, : width * self.scale]
        out = upsampled_input(lr, self.scale) + residual
        return out if self.training else out.clamp(0, 1)
