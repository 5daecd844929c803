"""Score folders of images with registered metrics: the engine behind ``iqa score``.

Files are paired (full-reference) or listed (no-reference), their headers read
to group same-size images into batches, and a ``DataLoader`` decodes the next
batches in worker processes while the current one is scored. Every row and
every failure goes to the :class:`~iqa.io.results.ResultLog` the moment it
is known.
"""
from __future__ import annotations

import inspect
import os
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from .io.images import ImageReadError, read_header, read_image
from .io.results import ResultLog
from .metrics._color import convention
from .metrics.registry import MetricSpec, get_metric
from .metrics.ssim import use_compiled_kernels


class MetricCall:
    """A registered metric bound to the options of one run.

    Only options the metric function accepts are passed; ``convention`` says
    which were applied, so a metric without a color option is never labelled
    with one.
    """

    def __init__(
        self, spec: MetricSpec, color: str | None, crop_border: int, features: dict | None = None,
        extra: dict | None = None,
    ):
        self.spec = spec
        # Metric-specific options from the command line, e.g. {"params": "my_niqe.npz"} for NIQE.
        self.extra = dict(extra or {})
        # Reduced-reference: {image name: {metric: iqa.rr.Features}}; the features carry the convention.
        self.features = features
        self.function = spec.load()
        accepted = inspect.signature(self.function).parameters
        unknown = set(self.extra) - set(accepted)
        if unknown:
            raise ValueError(f"{spec.name} has no option {', '.join(sorted(unknown))}")
        self.options: dict = {"data_range": 1.0, "reduction": "none", **self.extra}
        if "crop_border" in accepted:
            self.options["crop_border"] = crop_border
        self.color = (color or spec.default_color) if "color" in accepted else None
        if self.color is not None:
            self.options["color"] = self.color
        self.takes_quantize = "quantize" in accepted
        self.crop_border = crop_border

    def __call__(self, names: list[str], *images: Tensor, bits: int = 8) -> Tensor:
        options = dict(self.options)
        if self.takes_quantize:
            options["quantize"] = bits
        if self.features is not None:
            return self.function([self.features[name][self.spec.name] for name in names], *images, **options)
        return self.function(*images, **options)

    def check_weights(self, device: torch.device) -> None:
        """Load the weights a metric needs now, on a small probe image, so a missing file stops
        the run before any work (``FileNotFoundError`` naming the file and how to provide it)."""
        if self.spec.needs_weights and self.spec.kind in ("FR", "NR"):
            probe = torch.rand(1, 3, 96, 96, generator=torch.Generator().manual_seed(0)).to(device)
            with torch.inference_mode():
                self(["probe"], *([probe, probe.flip(-1)] if self.spec.kind == "FR" else [probe]))

    def convention(self, bit_depths: set[int] = frozenset({8})) -> str:
        """E.g. ``gray/u8,crop=0``: converted luminance is rounded to the files' bit depth, as MATLAB does."""
        if self.features is not None:
            recorded = {per[self.spec.name].convention for per in self.features.values() if self.spec.name in per}
            return " | ".join(sorted(recorded)) + " (from the features file)"
        depths = "+u".join(str(bits) for bits in sorted(bit_depths or {8})) if self.takes_quantize else None
        return convention(self.color or "n/a", self.crop_border, depths, **self.extra)


@dataclass
class Item:
    name: str
    paths: tuple[Path, ...]  # (ref, out) for full-reference, (image,) for no-reference


class _Decode(Dataset):
    def __init__(self, items: list[Item]):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        item = self.items[index]
        try:
            decoded = [read_image(path) for path in item.paths]
        except ImageReadError as error:
            return item.name, None, str(error)
        return item.name, decoded, None


def _collate(samples):
    return samples  # images of one batch are stacked by channel count and bit depth in _sub_batches


def _sub_batches(samples) -> Iterator[tuple[list[str], list[Tensor], int, list[str]]]:
    """Group decoded items by (channels, bits) and stack them; gray is promoted to RGB within a mixed pair."""
    groups: dict[tuple[int, int], list] = defaultdict(list)
    for name, decoded, _ in samples:
        channels = max(image.pixels.shape[0] for image in decoded)
        pixels = [image.pixels.expand(channels, -1, -1) for image in decoded]
        bits = max(image.bits for image in decoded)
        notes = sorted({image.note for image in decoded if image.note})
        if len({image.pixels.shape[0] for image in decoded}) > 1:
            notes.append("gray image expanded to RGB to match its pair")
        groups[(channels, bits)].append((name, pixels, notes))
    for (_, bits), members in groups.items():
        names = [name for name, _, _ in members]
        stacks = [torch.stack([pixels[i] for _, pixels, _ in members]) for i in range(len(members[0][1]))]
        notes = ["; ".join(member_notes) for _, _, member_notes in members]
        yield names, stacks, bits, notes


def group_by_size(items: list[Item], log: ResultLog) -> list[list[int]]:
    """Read headers only, report size mismatches and unreadable files, group the rest by size."""
    by_size: dict[tuple[int, int], list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        try:
            sizes = [read_header(path) for path in item.paths]
        except ImageReadError as error:
            log.add_error(item.name, str(error))
            continue
        if len(set(sizes)) > 1:
            (rh, rw), (oh, ow) = sizes
            log.add_error(item.name, f"size mismatch: ref {rw}x{rh}, out {ow}x{oh} ({item.paths[1]})")
            continue
        by_size[sizes[0]].append(index)
    return list(by_size.values())


# Compiling the SSIM kernel costs 10-30 s once per image size and saves ~70% per image after:
# measured break-even is several hundred 512x512 images (benchmarks/bench_metrics.py).
COMPILE_MIN_SAME_SIZE = 1000


def score_items(
    items: list[Item],
    calls: dict[str, MetricCall],
    log: ResultLog,
    device: torch.device,
    batch_size: int = 8,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    compile: str = "auto",
) -> set[int]:
    """Score every item not already in ``log``, record rows and errors in it, return the bit depths seen.

    ``compile``: ``"on"``, ``"off"``, or ``"auto"`` (on when at least
    :data:`COMPILE_MIN_SAME_SIZE` images share one size).
    """
    done = log.done
    items = [item for item in items if item.name not in done]
    groups = group_by_size(items, log)
    batches = [group[i : i + batch_size] for group in groups for i in range(0, len(group), batch_size)]
    same_size = max(map(len, groups), default=0)
    if compile == "on" or (compile == "auto" and same_size >= COMPILE_MIN_SAME_SIZE):
        use_compiled_kernels(True)  # never switched off here: a library caller may have turned it on
    if progress is not None:
        progress(len(items) - sum(map(len, batches)))  # items that failed already at the header
    bit_depths: set[int] = set()
    if not batches:
        return bit_depths
    loader = DataLoader(
        _Decode(items),
        batch_sampler=batches,
        num_workers=workers,
        collate_fn=_collate,
        prefetch_factor=4 if workers > 0 else None,
        persistent_workers=False,
    )
    with torch.inference_mode(), _threads_beside(workers if device.type == "cpu" else 0):
        for samples in loader:
            for name, _, error in samples:
                if error is not None:
                    log.add_error(name, error)
            good = [sample for sample in samples if sample[2] is None]
            for names, stacks, bits, notes in _sub_batches(good):
                images = [stack.to(device, non_blocking=True) for stack in stacks]
                _score_batch(names, images, bits, notes, calls, log)
                bit_depths.add(bits)
            if progress is not None:
                progress(len(samples))
    return bit_depths


@contextmanager
def _threads_beside(workers: int):
    """Leave one core per decoding worker: torch's spinning worker threads and a decoder process
    competing for the same cores slow both down several times over."""
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, min(previous, (os.cpu_count() or 1) - workers)))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _score_batch(names, images, bits, notes, calls: dict[str, MetricCall], log: ResultLog) -> None:
    rows = [{"name": name} for name in names]
    for metric, call in calls.items():
        try:
            values = call(names, *images, bits=bits).tolist()
        except ValueError:
            values = _score_one_by_one(names, images, bits, metric, call, log)
        for row, value in zip(rows, values):
            if value is not None:
                row[metric] = value
    for row, note in zip(rows, notes):
        if not any(metric in row for metric in calls):
            continue  # every metric failed: the errors say why
        if note:
            row["note"] = note
        log.add_row(row)  # what was scored, even when one metric failed for this image


def _score_one_by_one(names, images, bits, metric, call, log) -> list:
    """After a batch failed, find which images fail and why; the others keep their values."""
    values = []
    for index, name in enumerate(names):
        try:
            single = [image[index : index + 1] for image in images]
            values.append(float(call([name], *single, bits=bits)[0]))
        except ValueError as error:
            log.add_error(name, f"{metric}: {error}")
            values.append(None)
    return values


_HOW_TO_RUN = {
    "FR": "give REF_DIR OUT_DIR",
    "NR": "give one folder",
    "RR": "give --rr FEATURES.json OUT_DIR",
    "DIST": "use iqa fid / iqa kid",
}


def metric_calls(
    names: list[str], kind: str, color: str | None, crop_border: int, features: dict | None = None,
    extra: dict[str, dict] | None = None,
) -> dict[str, MetricCall]:
    """Bind each named metric to the run's options; ``extra`` maps a metric name to its own options."""
    extra = extra or {}
    for name in extra:
        if name not in names:
            raise ValueError(f"options for {name} were given but {name} is not among the metrics ({', '.join(names)})")
    calls = {}
    for name in names:
        spec = get_metric(name)
        if spec.kind != kind:
            raise ValueError(
                f"metric {name!r} is {spec.kind}, but this run scores {kind} metrics "
                f"({_HOW_TO_RUN[spec.kind]})"
            )
        calls[name] = MetricCall(spec, color, crop_border, features, extra.get(name))
    return calls
