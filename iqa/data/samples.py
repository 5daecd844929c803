"""The embedded sample set: real photographs that scikit-image ships inside its package.

No download is involved: every image below is read from scikit-image's own
data folder (install it with ``pip install "iqa[samples]"``). The split is
fixed so that validation numbers are comparable across runs and machines.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

# name -> how to get an (H, W, 3) uint8 array from skimage.data
_SOURCES = {
    "astronaut": ("astronaut", None),
    "coffee": ("coffee", None),
    "chelsea": ("chelsea", None),
    "rocket": ("rocket", None),
    "hubble_deep_field": ("hubble_deep_field", None),
    "retina": ("retina", None),
    "immunohistochemistry": ("immunohistochemistry", None),
    "motorcycle_left": ("stereo_motorcycle", 0),
    "motorcycle_right": ("stereo_motorcycle", 1),
    "camera": ("camera", None),
    "brick": ("brick", None),
    "grass": ("grass", None),
    "gravel": ("gravel", None),
}
SAMPLE_NAMES = tuple(_SOURCES)
# Held out from training: the bundled models are validated on these.
VALID_NAMES = ("astronaut", "coffee", "chelsea")
TRAIN_NAMES = tuple(name for name in SAMPLE_NAMES if name not in VALID_NAMES)


def load_sample(name: str) -> np.ndarray:
    """One sample photograph as an ``(H, W, 3)`` uint8 array (grayscale textures are repeated to 3 channels)."""
    if name not in _SOURCES:
        raise KeyError(f"unknown sample image {name!r}; known: {', '.join(SAMPLE_NAMES)}")
    try:
        import skimage.data
    except ImportError:
        raise ImportError(
            'the embedded sample set is scikit-image\'s bundled photographs: pip install "iqa[samples]"'
        ) from None
    function, part = _SOURCES[name]
    image = getattr(skimage.data, function)()
    if part is not None:
        image = image[part]
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def sample_images(split: str = "all") -> dict[str, Tensor]:
    """Sample photographs as ``(1, 3, H, W)`` float32 tensors in ``[0, 1]``; ``split`` is all|train|valid."""
    names = {"all": SAMPLE_NAMES, "train": TRAIN_NAMES, "valid": VALID_NAMES}.get(split)
    if names is None:
        raise ValueError(f"split must be 'all', 'train' or 'valid', got {split!r}")
    return {name: torch.from_numpy(load_sample(name)).permute(2, 0, 1)[None].float() / 255 for name in names}


DISTORTIONS = ("noise", "blur", "jpeg", "bicubic_x4")


def distort(image: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    """One of :data:`DISTORTIONS` applied to an ``(H, W, 3)`` uint8 image, returned as uint8."""
    from PIL import Image, ImageFilter

    if kind == "noise":
        noise = np.random.default_rng(seed).normal(0.0, 12.0, image.shape)
        return np.clip(image + noise, 0, 255).round().astype(np.uint8)
    if kind == "blur":
        return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(radius=1.5)))
    if kind == "jpeg":
        import io

        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=20)
        return np.asarray(Image.open(buffer).convert("RGB"))
    if kind == "bicubic_x4":
        from ..resize import imresize
        from .div2k import bicubic_lr

        pixels = torch.from_numpy(image).permute(2, 0, 1)[None].double() / 255
        restored = imresize(bicubic_lr(pixels, 4), size=image.shape[:2]).clamp(0, 1)
        return (restored[0] * 255).round().permute(1, 2, 0).to(torch.uint8).numpy()
    raise ValueError(f"distortion must be one of {', '.join(DISTORTIONS)}; got {kind!r}")


def write_sample_pairs(root, names=SAMPLE_NAMES) -> list[tuple[str, str]]:
    """Write ``root/ref/NAME.png`` and a distorted ``root/out/NAME.png`` for each sample photograph.

    The distortions rotate through :data:`DISTORTIONS`; returns ``(name, distortion)`` pairs.
    """
    from pathlib import Path

    from PIL import Image

    root = Path(root)
    (root / "ref").mkdir(parents=True, exist_ok=True)
    (root / "out").mkdir(parents=True, exist_ok=True)
    written = []
    for index, name in enumerate(names):
        image = load_sample(name)
        kind = DISTORTIONS[index % len(DISTORTIONS)]
        Image.fromarray(image).save(root / "ref" / f"{name}.png")
        Image.fromarray(distort(image, kind, seed=index)).save(root / "out" / f"{name}.png")
        written.append((name, kind))
    return written
