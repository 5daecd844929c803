"""Reduced-reference quality assessment: extract features of the reference, score the distorted image later.

The sender, who has the pristine image, runs ``extract`` and keeps or
transmits the small ``Features`` record (tens to hundreds of bytes). The
receiver, who has only the distorted image, runs ``score`` with it::

    features = iqa.rr.extract(ref, "rred")          # ref: (1, C, H, W) in [0, 1]
    text = features.to_json()                       # ... sent along with the image
    value = iqa.rr.score(iqa.rr.Features.from_json(text), dist)

For folders, ``iqa rr extract REF_DIR -o FEATURES.json`` writes one file that
``load_features`` reads back as ``{image name: {metric: Features}}``.

The metrics: ``wnism`` (Wang & Simoncelli 2005) and ``rred`` (Soundararajan &
Bovik 2012); both need pyrtools (``pip install "iqa[rr]"``).
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import Tensor

from .metrics._rr import Features
from .metrics.registry import get_metric

__all__ = [
    "RR_METRICS", "FeatureFile", "Features", "extract", "load_features", "resolve_options", "save_features", "score",
]

FILE_FORMAT = "iqa-rr-features/1"


def _wnism():
    from .metrics.wnism import wnism_features, wnism_options

    return wnism_features, wnism_options


def _rred():
    from .metrics.rred import rred_features, rred_options

    return rred_features, rred_options


# The sender side of each RR metric (imported on use); the receiver side is the registry's function.
_SENDERS: dict[str, Callable[[], tuple[Callable, Callable]]] = {"wnism": _wnism, "rred": _rred}
RR_METRICS = tuple(sorted(_SENDERS))


def _sender(metric: str) -> tuple[Callable[..., list[Features]], Callable[..., dict]]:
    if metric not in _SENDERS:
        get_metric(metric)  # raises KeyError with close matches for unknown names
        raise ValueError(f"{metric!r} is not a reduced-reference metric; RR metrics: {', '.join(RR_METRICS)}")
    return _SENDERS[metric]()


def resolve_options(metric: str, **options: Any) -> dict[str, Any]:
    """The options ``extract(ref, metric, **options)`` records in its features (defaults filled in)."""
    return _sender(metric)[1](**options)


def extract(ref: Tensor, metric: str = "rred", **options: Any) -> Features | list[Features]:
    """The side information of ``ref`` for ``metric``.

    ``ref``: ``(C, H, W)`` or ``(N, C, H, W)`` in ``[0, data_range]``. Returns one
    ``Features`` for a single image (3-D or N = 1), else a list of N.
    ``options``: the metric's extraction options (``data_range``, ``color``,
    ``crop_border``, ...; see ``iqa.metrics.wnism.wnism_features`` and
    ``iqa.metrics.rred.rred_features``). A misspelt option raises TypeError.
    """
    features_of = _sender(metric)[0]
    single = isinstance(ref, Tensor) and ref.ndim == 3
    records = features_of(ref[None] if single else ref, **options)
    return records[0] if len(records) == 1 else records


def score(features: Features | list[Features], dist: Tensor, *, data_range: float = 1.0) -> float | Tensor:
    """The RR score of ``dist`` against the reference that ``features`` describe.

    ``dist``: ``(C, H, W)`` or ``(N, C, H, W)`` in ``[0, data_range]``, one
    ``Features`` per image. Returns a float for one ``Features``, else an
    ``(N,)`` tensor. Lower is better for both RR metrics (0: no distortion).
    """
    records = [features] if isinstance(features, Features) else list(features)
    if not records:
        raise ValueError("features is empty")
    metric = records[0].metric
    if any(record.metric != metric for record in records):
        raise ValueError(f"features mix metrics: {sorted({r.metric for r in records})}; score one metric at a time")
    function = get_metric(metric).load()
    batch = dist[None] if isinstance(dist, Tensor) and dist.ndim == 3 else dist
    values = function(records, batch, data_range=data_range, reduction="none")
    return float(values[0]) if isinstance(features, Features) else values


def load_features(path: str | os.PathLike) -> dict[str, dict[str, Features]]:
    """Read a features file written by ``iqa rr extract``: ``{image name: {metric: Features}}``."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"features file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a JSON features file: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
        raise ValueError(f"{path} is not an iqa RR features file (expected format {FILE_FORMAT!r})")
    try:
        return {
            name: {metric: Features.from_dict(record) for metric, record in metrics.items()}
            for name, metrics in document["images"].items()
        }
    except (ValueError, TypeError, AttributeError, KeyError) as error:
        raise ValueError(f"{path}: malformed features: {error}") from None


def save_features(path: str | os.PathLike, table: dict[str, dict[str, Features]]) -> None:
    """Write ``{image name: {metric: Features}}`` as a features file (the format ``load_features`` reads)."""
    store = FeatureFile(path)
    for name, metrics in table.items():
        for features in metrics.values():
            store.images.setdefault(name, {})[features.metric] = features.to_dict()
    store.close()


class FeatureFile:
    """A features file written as results come: atomically rewritten at most every ``interval`` seconds.

    A killed run keeps everything up to its last write; with ``resume=True`` the
    existing file is read back so that finished (image, metric) pairs are
    skipped (``has``). ``close`` writes the final state.
    """

    def __init__(self, path: str | os.PathLike, *, resume: bool = False, interval: float = 2.0):
        self.path = Path(path)
        self.interval = interval
        self.images: dict[str, dict[str, dict]] = {}
        self.errors: dict[str, str] = {}
        if resume and self.path.exists():
            self.images = {
                name: {metric: record.to_dict() for metric, record in metrics.items()}
                for name, metrics in load_features(self.path).items()
            }
        self._last_write = 0.0

    def has(self, name: str, metric: str, options: dict[str, Any]) -> bool:
        """Whether ``name`` already has ``metric`` features extracted with these options (``resolve_options``)."""
        record = self.images.get(name, {}).get(metric)
        return record is not None and record["options"] == options

    def add(self, name: str, features: Features) -> None:
        self.images.setdefault(name, {})[features.metric] = features.to_dict()
        self.errors.pop(name, None)
        self._maybe_write()

    def fail(self, name: str, error: str) -> None:
        self.errors[name] = error
        self._maybe_write()

    def close(self) -> None:
        self._write()

    def _maybe_write(self) -> None:
        if time.monotonic() - self._last_write >= self.interval:
            self._write()

    def _write(self) -> None:
        from . import __version__

        document = {
            "format": FILE_FORMAT,
            "iqa_version": __version__,
            "images": dict(sorted(self.images.items())),
            "errors": [{"name": name, "error": error} for name, error in sorted(self.errors.items())],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target, then rename: a kill mid-write never leaves a truncated file.
        # (open() rather than mkstemp, whose 0600 mode would stick to the features file.)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(temporary, "w") as stream:
            json.dump(document, stream, separators=(",", ":"))
        os.replace(temporary, self.path)
        self._last_write = time.monotonic()
