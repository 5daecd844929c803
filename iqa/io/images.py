"""Decode image files to float tensors in ``[0, 1]`` with their bit depth.

PNG, JPEG and WebP go through ``torchvision.io`` (libpng/libjpeg-turbo/libwebp,
and the only decoder here that keeps 16-bit RGB PNGs at 16 bits); palette
PNGs, BMP, TIFF and anything else go through Pillow. Alpha is dropped with a
note, palettes are expanded to RGB. Every failure raises
:class:`ImageReadError` naming the file and the reason.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_PALETTE = 3  # IHDR color type


class ImageReadError(ValueError):
    """A file that cannot be used as an image; ``str()`` names the file and the reason.

    A ``ValueError``, so callers that already report bad input keep working."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass
class DecodedImage:
    pixels: Tensor  # (C, H, W) float32 in [0, 1], C in {1, 3}
    bits: int  # 8 or 16
    note: str = ""  # what was changed on the way, e.g. "alpha dropped"


def read_header(path: Path) -> tuple[int, int]:
    """``(height, width)`` from the file header alone (no decoding)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except (UnidentifiedImageError, OSError, ValueError) as error:
        empty = path.stat().st_size == 0
        raise ImageReadError(path, "empty file" if empty else _reason(error)) from None
    return height, width


def read_image(path: Path | str) -> DecodedImage:
    """Decode ``path`` to a :class:`DecodedImage`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageReadError(path, f"cannot read file ({error.strerror or error})") from None
    if not data:
        raise ImageReadError(path, "empty file")
    pixels = _decode_torchvision(path, data) if _fast_decodable(data) else None
    if pixels is None or (pixels.shape[0] == 4 and data.startswith(b"\xff\xd8")):
        pixels = _decode_pillow(path)  # Pillow converts CMYK JPEGs, whose 4th channel is not alpha
    return _normalize(path, pixels)


def _fast_decodable(data: bytes) -> bool:
    if data.startswith(_PNG_SIGNATURE):
        return len(data) > 25 and data[25] != _PNG_PALETTE
    return data.startswith(b"\xff\xd8\xff") or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _decode_torchvision(path: Path, data: bytes) -> Tensor:
    from torchvision.io import ImageReadMode, decode_image

    try:
        with warnings.catch_warnings():
            # torchvision 0.29 deprecates its decoders in favour of torchcodec, which has no
            # image decoding on every platform yet; until then they are the fastest we have.
            warnings.simplefilter("ignore", DeprecationWarning)
            return decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.UNCHANGED)
    except RuntimeError as error:
        raise ImageReadError(path, f"corrupt or truncated image ({_first_line(error)})") from None


def _decode_pillow(path: Path) -> Tensor:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            array = _pillow_to_array(path, image)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise ImageReadError(path, _reason(error)) from None
    if array.ndim == 2:
        array = array[..., None]
    return torch.from_numpy(np.array(array)).permute(2, 0, 1)  # np.array: a writable copy


def _pillow_to_array(path: Path, image) -> np.ndarray:
    mode = image.mode
    if mode in ("1", "L", "LA", "RGB", "RGBA"):
        return np.asarray(image.convert("L") if mode == "1" else image)
    if mode == "P":
        return np.asarray(image.convert("RGBA" if "transparency" in image.info else "RGB"))
    if mode in ("CMYK", "YCbCr", "LAB", "HSV", "PA"):
        return np.asarray(image.convert("RGB"))
    if mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16)
    if mode == "I":
        array = np.asarray(image)
        if array.min() < 0 or array.max() > 65535:
            raise ImageReadError(path, "32-bit integer image with values outside 16 bits is not supported")
        return array.astype(np.uint16)
    raise ImageReadError(path, f"unsupported pixel format {mode!r} (supported: 8- and 16-bit gray/RGB/RGBA/palette)")


def _normalize(path: Path, pixels: Tensor) -> DecodedImage:
    notes = []
    channels = pixels.shape[0]
    if channels in (2, 4):
        pixels = pixels[: channels - 1]
        notes.append("alpha dropped")
    elif channels not in (1, 3):
        raise ImageReadError(path, f"{channels} channels; expected gray, RGB or RGBA")
    if pixels.dtype == torch.uint8:
        bits, scale = 8, 255.0
    elif pixels.dtype in (torch.uint16, torch.int32, torch.int16):
        bits, scale = 16, 65535.0
        pixels = pixels.to(torch.int32)
    else:
        raise ImageReadError(path, f"unsupported sample type {pixels.dtype}")
    if min(pixels.shape[-2:]) == 0:
        raise ImageReadError(path, "image has no pixels")
    return DecodedImage(pixels.to(torch.float32) / scale, bits, "; ".join(notes))


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return (text[-1] if text else type(error).__name__)[:160]


def _reason(error: Exception) -> str:
    return f"not a readable image ({_first_line(error)})"


def read_rgb(path: Path | str) -> Tensor:
    """``(3, H, W)`` float32 in ``[0, 1]``: gray repeated to three channels, for models that take RGB."""
    return read_image(path).pixels.expand(3, -1, -1).contiguous()


def write_image(path: Path | str, image: Tensor) -> None:
    """Write ``(C, H, W)`` or ``(1, C, H, W)`` in ``[0, 1]`` as an 8-bit image (format from the suffix)."""
    from PIL import Image

    pixels = image.detach()
    if pixels.ndim == 4:
        pixels = pixels[0]
    array = (pixels.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).squeeze(-1).cpu().numpy()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
