"""The images a benchmark runs on: HR ground truth and the LR input each model upscales.

Sources (the ``data`` argument):

* ``samples:valid`` (default), ``samples:all``, ``samples:train``: the embedded
  sample photographs (:func:`iqa.data.sample_images`).
* a DIV2K root, recognised by its ``DIV2K_valid_HR`` folder; the LR images are
  taken from ``DIV2K_valid_LR_bicubic/X{scale}/{stem}x{scale}.png`` when present.
* any folder of images (png, jpg, bmp, tif, webp; subfolders included), used as
  HR; ``lr_dir`` may name a folder of matching LR images (``{stem}.png`` or
  ``{stem}x{scale}.png``, see :func:`iqa.data.div2k.find_lr`).

Without given LR, the LR image is made the way SR papers make it: the HR image is
cropped to a multiple of the scale (top-left kept), shrunk with MATLAB-compatible
bicubic :func:`iqa.imresize` and rounded to 8 bits.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch import Tensor

from ..data.div2k import bicubic_lr, crop_to_multiple, find_lr
from ..io.images import IMAGE_SUFFIXES, read_rgb
from ..io.pairs import image_files

SAMPLE_PREFIX = "samples:"


@dataclass(frozen=True)
class BenchImage:
    """One benchmark image: its name and how to read the HR image and (if given) the LR image."""

    name: str
    load_hr: Callable[[], Tensor]
    load_lr: Callable[[], Tensor] | None = None


def crop_and_shrink(hr: Tensor, scale: int) -> tuple[Tensor, Tensor]:
    """``(lr, hr)``: HR cropped to a multiple of ``scale``, LR = :func:`iqa.data.div2k.bicubic_lr`."""
    height, width = hr.shape[-2:]
    hr = crop_to_multiple(hr, scale)
    if min(hr.shape[-2:]) < scale:
        raise ValueError(f"image of {height}x{width} pixels is smaller than the scale {scale}")
    return bicubic_lr(hr, scale), hr


def load_pair(image: BenchImage, scale: int) -> tuple[Tensor, Tensor]:
    """``(lr, hr)`` of one benchmark image, the HR cropped to exactly ``scale`` times the LR."""
    hr = image.load_hr()
    if image.load_lr is None:
        return crop_and_shrink(hr, scale)
    lr = image.load_lr()
    need_h, need_w = lr.shape[-2] * scale, lr.shape[-1] * scale
    if hr.shape[-2] < need_h or hr.shape[-1] < need_w:
        raise ValueError(
            f"{image.name}: LR {lr.shape[-2]}x{lr.shape[-1]} times {scale} is larger than HR "
            f"{hr.shape[-2]}x{hr.shape[-1]}; is the scale right?"
        )
    return lr, hr[..., :need_h, :need_w]


def _folder_images(hr_dir: Path, lr_dir: Path | None, scale: int) -> list[BenchImage]:
    """HR images under ``hr_dir`` (recursively, named by their path in it), each with its LR image
    from the same subfolder of ``lr_dir`` when there is one; an ``lr_dir`` inside ``hr_dir`` is not HR."""
    images = []
    for path in image_files(hr_dir):
        if lr_dir is not None and path.resolve().is_relative_to(lr_dir.resolve()):
            continue
        relative = path.relative_to(hr_dir)
        lr_path = find_lr(lr_dir / relative.parent, path.stem, scale) if lr_dir is not None else None
        load_lr = (lambda p=lr_path: read_rgb(p)[None]) if lr_path is not None else None
        images.append(BenchImage(relative.as_posix(), lambda p=path: read_rgb(p)[None], load_lr))
    if not images:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {hr_dir}")
    return images


def resolve_dataset(data: str, scale: int, lr_dir: str | Path | None = None) -> list[BenchImage]:
    """The benchmark images named by ``data`` (see the module docstring), sorted by name."""
    if data.startswith(SAMPLE_PREFIX):
        from ..data import sample_images

        split = data[len(SAMPLE_PREFIX):]
        tensors = sample_images(split)
        return [BenchImage(name, lambda t=tensor: t) for name, tensor in sorted(tensors.items())]
    root = Path(data)
    if not root.is_dir():
        raise ValueError(
            f"data {data!r} is neither a folder nor one of samples:valid, samples:all, samples:train"
        )
    given_lr = Path(lr_dir) if lr_dir is not None else None
    if given_lr is not None and not given_lr.is_dir():
        raise ValueError(f"LR folder {given_lr} does not exist")
    if (root / "DIV2K_valid_HR").is_dir():
        div2k_lr = root / "DIV2K_valid_LR_bicubic" / f"X{scale}"
        return _folder_images(root / "DIV2K_valid_HR", given_lr or (div2k_lr if div2k_lr.is_dir() else None), scale)
    return _folder_images(root, given_lr, scale)
