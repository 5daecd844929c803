"""What the reduced-reference metrics share: the feature record, the pyramid import, the luminance front end.

A reduced-reference (RR) metric runs in two steps. The sender extracts a few
numbers from the reference image (the *side information*); the receiver, who
only has the distorted image and those numbers, computes a score. ``Features``
is the record that travels between them: the numbers, the options and
convention that produced them, the image size, and the size of the side
information as the metric transmits it.

The RR metrics work in numpy float64 on features, not on pixels as losses do,
so they are not differentiable (the registry says so).
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ._color import luminance_255
from ._validate import check_image

_FIELDS = ("metric", "options", "convention", "image_size", "payload", "payload_bits", "version")


@dataclass(frozen=True)
class Features:
    """The side information of one reference image for one RR metric.

    ``payload`` holds the numbers themselves (JSON lists); ``payload_bits`` is
    their size as the metric transmits them (quantized codes or float32 values),
    which ``nbytes()`` reports in bytes. ``image_size`` is the reference's
    ``(height, width)`` before any crop; the distorted image must match it.
    """

    metric: str
    options: dict[str, Any]
    convention: str
    image_size: tuple[int, int]
    payload: dict[str, Any]
    payload_bits: int
    version: str = field(default_factory=lambda: _iqa_version())

    def nbytes(self) -> int:
        """Size of the side information in bytes (what a sender would transmit, not the JSON text)."""
        return math.ceil(self.payload_bits / 8)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "options": dict(self.options),
            "convention": self.convention,
            "image_size": list(self.image_size),
            "payload": dict(self.payload),
            "payload_bits": self.payload_bits,
            "version": self.version,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Features:
        if not isinstance(record, dict):
            raise TypeError(f"RR features must be a JSON object, got {type(record).__name__}")
        missing = [key for key in _FIELDS if key not in record]
        if missing:
            raise ValueError(f"RR features lack the field(s) {', '.join(missing)}; got {sorted(record)}")
        height, width = (int(v) for v in record["image_size"])
        return cls(
            metric=str(record["metric"]),
            options=dict(record["options"]),
            convention=str(record["convention"]),
            image_size=(height, width),
            payload=dict(record["payload"]),
            payload_bits=int(record["payload_bits"]),
            version=str(record["version"]),
        )

    @classmethod
    def from_json(cls, text: str) -> Features:
        return cls.from_dict(json.loads(text))


def _iqa_version() -> str:
    from .. import __version__

    return __version__


def pyrtools():
    """The ``pyrtools`` package, or an ImportError that says how to install it."""
    try:
        import pyrtools
    except ImportError:
        raise ImportError(
            "the reduced-reference metrics (wnism, rred) use the steerable pyramids of pyrtools: "
            'pip install "iqa[rr]"'
        ) from None
    return pyrtools


def rr_luminance(
    x: Tensor, *, data_range: float, color: str, crop_border: int, quantize: int | None, min_size: int, metric: str
) -> list[np.ndarray]:
    """Each image of ``x`` as a float64 ``(H, W)`` array: :func:`luminance_255` of one luminance channel."""
    luminance = luminance_255(x, data_range=data_range, color=color, crop_border=crop_border, quantize=quantize,
                              min_size=min_size, metric=metric)
    if luminance.shape[1] != 1:
        raise ValueError(f"color={color!r} gives {luminance.shape[1]} channels; RR metrics need 'gray' or 'y'")
    return list(luminance[:, 0].cpu().numpy())


def score_each(
    features: Features | list[Features] | tuple[Features, ...],
    x: Tensor,
    metric: str,
    data_range: float,
    min_size: int,
    distortion: Callable[[Features, np.ndarray], float],
) -> Tensor:
    """``distortion(record, luminance)`` for each distorted image of ``x`` with its own features, as (N,) float64.

    Each image is prepared with the convention its features were extracted with.
    """
    check_image(x, "x", data_range)
    if isinstance(features, Features):
        features = [features]
    if not isinstance(features, (list, tuple)) or not all(isinstance(f, Features) for f in features):
        raise TypeError(f"features must be a Features or a list of them, got {type(features).__name__}")
    if len(features) != x.shape[0]:
        raise ValueError(f"got {len(features)} feature records for {x.shape[0]} images; pass one per image")
    values = []
    for index, record in enumerate(features):
        if record.metric != metric:
            raise ValueError(f"these features were extracted for {record.metric!r}, not {metric!r}")
        check_size(record, x)
        options = record.options
        (luminance,) = rr_luminance(
            x[index : index + 1], data_range=data_range, color=options["color"],
            crop_border=options["crop_border"], quantize=options["quantize"], min_size=min_size, metric=metric,
        )
        values.append(distortion(record, luminance))
    return torch.tensor(values, dtype=torch.float64)


def check_size(record: Features, x: Tensor) -> None:
    height, width = x.shape[-2:]
    if tuple(record.image_size) != (height, width):
        ref_h, ref_w = record.image_size
        raise ValueError(
            f"size mismatch: reference {ref_w}x{ref_h}, distorted {width}x{height} (W x H); "
            f"RR features only score an image of the reference's size"
        )


def to_float32(values: np.ndarray) -> list[float]:
    """Values as float32 would store them: the precision ``payload_bits`` counts, exact through JSON."""
    return np.asarray(values, dtype=np.float32).astype(np.float64).ravel().tolist()
