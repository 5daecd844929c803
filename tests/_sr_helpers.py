"""A miniature DIV2K written in the published folder layout, for the SR data and training tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def smooth_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A natural-ish uint8 RGB image: low-frequency colour fields plus a little noise."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    channels = []
    for _ in range(3):
        a, b, c = rng.uniform(2, 9, size=3)
        channels.append(np.sin(a * x + rng.uniform(0, 6)) * np.cos(b * y) + 0.3 * np.sin(c * (x + y)))
    image = np.stack(channels, axis=2) * 80 + 128 + rng.normal(0, 4, (height, width, 3))
    return np.clip(image, 0, 255).round().astype(np.uint8)


def write_mini_div2k(root: Path, scale: int = 4, train: int = 3, valid: int = 2, size=(56, 72), with_lr: bool = True) -> Path:
    """``DIV2K_{train,valid}_HR/NNNN.png`` and, when ``with_lr``, ``DIV2K_*_LR_bicubic/X{s}/NNNNx{s}.png``.

    The provided LR images are HR subsampled by taking every ``scale``-th pixel,
    which differs from bicubic, so a test can tell which LR was used.
    """
    rng = np.random.default_rng(0)
    numbers = {"train": range(1, train + 1), "valid": range(801, 801 + valid)}
    for split, ids in numbers.items():
        (root / f"DIV2K_{split}_HR").mkdir(parents=True, exist_ok=True)
        for number in ids:
            hr = smooth_image(rng, *size)
            Image.fromarray(hr).save(root / f"DIV2K_{split}_HR" / f"{number:04d}.png")
            if with_lr:
                lr_dir = root / f"DIV2K_{split}_LR_bicubic" / f"X{scale}"
                lr_dir.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.ascontiguousarray(hr[::scale, ::scale])).save(lr_dir / f"{number:04d}x{scale}.png")
    return root
