"""SRGAN: an SRResNet generator and a VGG-style discriminator.

Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative
Adversarial Network", CVPR 2017, doi:10.1109/CVPR.2017.19. Scaled down for CPU
training: batch norm is dropped from the residual blocks (as EDSR found it
harms SR, doi:10.1109/CVPRW.2017.151) and the output is a residual over the
interpolated input.
"""
from __future__ import annotations

from torch import Tensor, nn

from ._blocks import PixelShuffleUpsampler, conv3x3, upsampled_input


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(conv3x3(channels, channels), nn.PReLU(channels), conv3x3(channels, channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """Maps ``(N, 3, h, w)`` in ``[0, 1]`` to ``(N, 3, scale*h, scale*w)`` (unclamped while training)."""

    def __init__(self, scale: int = 4, channels: int = 48, blocks: int = 8):
        super().__init__()
        self.scale = int(scale)
        self.head = nn.Sequential(nn.Conv2d(3, channels, 5, padding=2), nn.PReLU(channels))
        self.body = nn.Sequential(*(ResidualBlock(channels) for _ in range(blocks)), conv3x3(channels, channels))
        self.upsample = PixelShuffleUpsampler(channels, self.scale)

    def forward(self, lr: Tensor) -> Tensor:
        features = self.head(lr)
        features = features + self.body(features)
        out = upsampled_input(lr, self.scale) + self.upsample(features)
        return out if self.training else out.clamp(0, 1)


class Discriminator(nn.Module):
    """Strided-convolution classifier returning one real/fake logit per image, for any patch size >= 16."""

    def __init__(self, channels: int = 16, stages: int = 4):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 3, padding=1), nn.LeakyReLU(0.2)]
        width = channels
        for stage in range(stages):
            wider = min(channels * 2 ** (stage + 1), 256)
            layers += [nn.Conv2d(width, wider, 4, stride=2, padding=1), nn.LeakyReLU(0.2), conv3x3(wider, wider), nn.LeakyReLU(0.2)]
            width = wider
        self.features = nn.Sequential(*layers)
        self.classify = nn.Sequential(nn.Linear(width, width), nn.LeakyReLU(0.2), nn.Linear(width, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.classify(self.features(x * 2 - 1).mean(dim=(2, 3))).squeeze(1)
