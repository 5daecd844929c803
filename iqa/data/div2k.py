"""SR training data: DIV2K in its published layout, or the embedded sample photographs.

DIV2K (Agustsson & Timofte, NTIRE 2017, doi:10.1109/CVPRW.2017.150) unpacks to::

    DIV2K_train_HR/0001.png ...                 DIV2K_valid_HR/0801.png ...
    DIV2K_train_LR_bicubic/X4/0001x4.png ...    DIV2K_valid_LR_bicubic/X4/0801x4.png ...

The provided LR image is used when it exists; otherwise it is made from the HR
image with MATLAB-compatible bicubic ``iqa.imresize`` and rounded to 8 bits,
which is how the provided ones were made. HR images are cropped to a multiple
of the scale first, so HR is exactly ``scale`` times LR.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..io.images import IMAGE_SUFFIXES, read_rgb
from ..io.pairs import image_files
from ..metrics._color import quantize_to_bits
from ..resize import imresize
from .samples import TRAIN_NAMES, VALID_NAMES, load_sample

def read_rgb_u8(path: str | Path) -> Tensor:
    """An image file as a ``(3, H, W)`` uint8 tensor (gray repeated, alpha dropped).

    Raises :class:`iqa.io.ImageReadError` (a ``ValueError``) naming the file."""
    return (read_rgb(path) * 255).round().to(torch.uint8)


def bicubic_lr(hr: Tensor, scale: int) -> Tensor:
    """The LR image SR datasets use: MATLAB ``imresize(hr, 1/scale)`` of float ``hr`` in ``[0, 1]``,
    rounded to 8 bits as MATLAB rounds a ``uint8`` result (``H, W`` multiples of ``scale``)."""
    return quantize_to_bits(imresize(hr, 1 / scale).clamp(0, 1), 1.0, 8)


def make_lr(hr: Tensor, scale: int) -> Tensor:
    """:func:`bicubic_lr` of a ``(3, H, W)`` uint8 HR image, as uint8."""
    return (bicubic_lr(hr[None].float() / 255, scale)[0] * 255).round().to(torch.uint8)


def crop_to_multiple(hr: Tensor, scale: int) -> Tensor:
    height, width = hr.shape[-2:]
    return hr[..., : height - height % scale, : width - width % scale]


@dataclass
class ImagePairs:
    """Aligned (HR, LR) uint8 image pairs; each source is a file path or an in-memory tensor."""

    scale: int
    names: list[str]
    hr_sources: list
    lr_sources: list = field(default_factory=list)  # None entries: made with make_lr

    def __len__(self) -> int:
        return len(self.names)

    def head(self, count: int) -> "ImagePairs":
        """The first ``count`` pairs."""
        return ImagePairs(self.scale, self.names[:count], self.hr_sources[:count], self.lr_sources[:count])

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        hr = self.hr_sources[index]
        hr = crop_to_multiple(read_rgb_u8(hr) if isinstance(hr, Path) else hr, self.scale)
        lr = self.lr_sources[index] if self.lr_sources else None
        if lr is None:
            lr = make_lr(hr, self.scale)
        elif isinstance(lr, Path):
            lr = read_rgb_u8(lr)
        if tuple(lr.shape[-2:]) != (hr.shape[-2] // self.scale, hr.shape[-1] // self.scale):
            raise ValueError(
                f"{self.names[index]}: LR image is {lr.shape[-1]}x{lr.shape[-2]} but HR {hr.shape[-1]}x{hr.shape[-2]} "
                f"at x{self.scale} needs {hr.shape[-1] // self.scale}x{hr.shape[-2] // self.scale}"
            )
        return hr, lr


def div2k_pairs(root: str | Path, split: str, scale: int) -> ImagePairs:
    """DIV2K ``split`` (train|valid) under ``root``; the provided LR images are used where present."""
    if split not in ("train", "valid"):
        raise ValueError(f"split must be 'train' or 'valid', got {split!r}")
    root = Path(root)
    hr_dir = root / f"DIV2K_{split}_HR"
    if not hr_dir.is_dir():
        raise FileNotFoundError(f"{hr_dir} not found: --data must be the folder holding DIV2K_{split}_HR/")
    # The LR folders are siblings of the HR folder, so listing it recursively finds HR images only.
    hr_paths = image_files(hr_dir)
    if not hr_paths:
        raise FileNotFoundError(f"{hr_dir} holds no images")
    lr_dir = root / f"DIV2K_{split}_LR_bicubic" / f"X{scale}"
    lr_paths = [find_lr(lr_dir, p.stem, scale) for p in hr_paths]
    return ImagePairs(scale, [p.name for p in hr_paths], hr_paths, lr_paths)


def find_lr(lr_dir: Path, stem: str, scale: int) -> Path | None:
    """The LR image of HR image ``stem`` in ``lr_dir``: ``{stem}x{scale}.png`` as DIV2K names it,
    or ``{stem}.png``, with any image suffix; None when there is none."""
    for candidate in (f"{stem}x{scale}", stem):
        for suffix in IMAGE_SUFFIXES:
            path = Path(lr_dir) / f"{candidate}{suffix}"
            if path.is_file():
                return path
    return None


def sample_pairs(split: str, scale: int) -> ImagePairs:
    """The embedded photographs (``iqa.data.samples``), fixed split, LR made in memory once."""
    names = {"train": TRAIN_NAMES, "valid": VALID_NAMES}.get(split)
    if names is None:
        raise ValueError(f"split must be 'train' or 'valid', got {split!r}")
    hrs = [crop_to_multiple(torch.from_numpy(load_sample(n)).permute(2, 0, 1), scale) for n in names]
    return ImagePairs(scale, list(names), hrs, [make_lr(hr, scale) for hr in hrs])


def open_pairs(data: str | Path | None, split: str, scale: int) -> ImagePairs:
    """DIV2K under ``data``, or the embedded sample set when ``data`` is None."""
    return sample_pairs(split, scale) if data is None else div2k_pairs(data, split, scale)


class RandomPatches(Dataset):
    """Aligned random ``(lr, hr)`` float patches with flips and 90-degree rotations.

    Item ``i`` is a pure function of ``(seed, i)``: the same index always gives
    the same patch, whichever process or worker draws it, so runs are
    reproducible and a resumed run sees exactly the patches it would have seen.
    ``patch_size`` is in HR pixels and must be a multiple of the scale.
    """

    def __init__(self, pairs: ImagePairs, patch_size: int, length: int, seed: int = 0, augment: bool = True):
        if patch_size % pairs.scale:
            raise ValueError(f"patch_size must be a multiple of the scale {pairs.scale}, got {patch_size}")
        if len(pairs) == 0:
            raise ValueError("no training images")
        self.pairs, self.patch_size, self.length, self.seed, self.augment = pairs, patch_size, length, seed, augment
        self._memory = len(pairs) <= 64 and not any(isinstance(s, Path) for s in pairs.hr_sources)
        self._cache: dict[int, tuple[Tensor, Tensor]] = {}

    def __len__(self) -> int:
        return self.length

    def _pair(self, index: int) -> tuple[Tensor, Tensor]:
        if not self._memory:
            return self.pairs[index]
        if index not in self._cache:
            self._cache[index] = self.pairs[index]
        return self._cache[index]

    def __getitem__(self, item: int) -> tuple[Tensor, Tensor]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + item)
        draw = lambda high: int(torch.randint(high, (1,), generator=generator))  # noqa: E731
        hr, lr = self._pair(draw(len(self.pairs)))
        scale, lr_patch = self.pairs.scale, self.patch_size // self.pairs.scale
        height, width = lr.shape[-2:]
        if height < lr_patch or width < lr_patch:
            raise ValueError(f"an image is {width * scale}x{height * scale}, smaller than patch_size {self.patch_size}")
        top, left = draw(height - lr_patch + 1), draw(width - lr_patch + 1)
        lr = lr[:, top : top + lr_patch, left : left + lr_patch]
        hr = hr[:, top * scale : (top + lr_patch) * scale, left * scale : (left + lr_patch) * scale]
        if self.augment:
            hflip, vflip, transpose = (draw(2) for _ in range(3))
            dims = [d for d, flip in ((2, hflip), (1, vflip)) if flip]
            if dims:
                lr, hr = lr.flip(dims), hr.flip(dims)
            if transpose:  # with the flips this gives all eight 90-degree rotations and mirrorings
                lr, hr = lr.transpose(1, 2), hr.transpose(1, 2)
        return lr.float() / 255, hr.float() / 255
