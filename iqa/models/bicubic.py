"""The bicubic baseline: MATLAB ``imresize`` upscaling as a model, so it is benchmarked like any other."""
from __future__ import annotations

from torch import Tensor, nn

from ..resize import imresize


class Bicubic(nn.Module):
    def __init__(self, scale: int):
        super().__init__()
        self.scale = int(scale)

    def forward(self, lr: Tensor) -> Tensor:
        return imresize(lr, float(self.scale)).clamp(0, 1)
