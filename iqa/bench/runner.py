"""The benchmark loop: upscale every image with every model, time it, score it, write rows as they come.

One row per (model, image) is appended to ``rows.jsonl`` (``rows.rank{r}.jsonl``
under ``torchrun``) the moment it is scored, so a killed run loses at most the
image in flight and ``resume=True`` skips the pairs already written. Under
``torchrun`` each rank takes every ``world_size``-th image; rank 0 waits for
the others, reads every rows file from ``out_dir`` (which must therefore be on
a filesystem all ranks share) and returns the merged results.
"""
from __future__ import annotations

import datetime
import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from .. import __version__
from ..metrics._color import quantize_to_bits
from ..metrics.registry import METRICS, get_metric
from ..scorer import MetricCall
from ..stats import summarize, wilcoxon_signed_rank
from ..io.images import write_image
from ..io.results import json_safe
from .data import BenchImage, load_pair, resolve_dataset
from ..distributed import barrier, setup, teardown
from ..models.tiling import upscale

SCORED_KINDS = ("FR", "NR")
# The label of the HR images' own no-reference scores: the value a natural image gets.
GROUND_TRUTH = "ground truth"
# The columns SR papers lead with come first in the default metric order; the rest follow by name.
LEADING_METRICS = ("psnr", "ssim", "ms_ssim", "lpips")
CROP_FILE = "crop.json"


@dataclass
class BenchConfig:
    """What to benchmark; the defaults are what ``iqa bench`` without arguments runs.

    ``models``: zoo names or checkpoint paths for :func:`iqa.models.load`, or a
    mapping ``{label: nn.Module or name}`` (a module must have ``.scale``); ``None``
    means every bundled model of ``scale``, the bicubic baseline first.
    ``metrics``: registry names; ``None`` means every FR and NR metric that runs
    here (metrics that need weights join when their weights are found).
    ``crop_border``: ``None`` means ``scale`` (the SR convention).
    ``tile``: LR tile size for :func:`iqa.models.tiling.upscale` (0 disables tiling).
    """

    models: Sequence[str] | Mapping[str, nn.Module | str] | None = None
    data: str = "samples:valid"
    lr_dir: str | None = None
    scale: int = 4
    metrics: Sequence[str] | None = None
    color: str = "y"
    crop_border: int | None = None
    device: str = "auto"
    out_dir: str = "bench-report"
    save_outputs: bool = False
    resume: bool = False
    tile: int = 256
    tile_overlap: int = 16
    warmup: int = 1
    n_resamples: int = 10_000
    seed: int = 0
    crop_size: int | None = None  # HR pixels of the visual comparison crop; None = 32 * scale


def default_models(scale: int) -> list[str]:
    """Every bundled model of ``scale``, the bicubic baseline first.

    The scale comes from each model's card, so a model is found whatever its
    name says; a model without a scale on its card is loaded on the CPU to read its ``.scale``.
    """
    from ..models import list_models

    names = [name for name in list_models() if _zoo_scale(name) == scale]
    return sorted(names, key=lambda name: (not name.startswith("bicubic"), name))


def _zoo_scale(name: str) -> int | None:
    from ..models import card, load

    scale = card(name).get("scale")
    return scale if scale is not None else getattr(load(name), "scale", None)


def _load_models(config: BenchConfig, device: torch.device) -> tuple[dict[str, nn.Module], dict[str, str]]:
    """``(models, sources)`` keyed by label; a source is the zoo name or path, or the module's class name."""
    from ..models import load

    given = config.models if config.models is not None else default_models(config.scale)
    pairs = given.items() if isinstance(given, Mapping) else _labelled(given)
    models, sources = {}, {}
    for label, model in pairs:
        if label in models:
            raise ValueError(f"model {label!r} is listed twice")
        if label == GROUND_TRUTH:
            raise ValueError(f"{GROUND_TRUTH!r} labels the HR reference scores; give the model another name")
        loaded = load(model, device=device) if isinstance(model, str) else model.to(device).eval()
        scale = getattr(loaded, "scale", None)
        if scale != config.scale:
            raise ValueError(f"model {label!r} upscales by {scale}, but the benchmark scale is {config.scale}")
        sources[str(label)] = model if isinstance(model, str) else type(model).__name__
        models[str(label)] = loaded
    if not models:
        raise ValueError(f"no models to benchmark at x{config.scale}")
    return models, sources


def _labelled(names: Sequence[str]) -> list[tuple[str, str]]:
    """``(label, name)`` pairs: a checkpoint path is labelled by its file stem, or by its folder for
    ``.../NAME/weights.safetensors``, so tables and plots stay readable; the full paths when labels collide."""
    def short(name: str) -> str:
        path = Path(name)
        if not path.exists():
            return name  # a zoo name
        return path.parent.name if path.is_file() and path.stem == "weights" else (path.stem or name)

    labels = [short(name) for name in names]
    if len(set(labels)) < len(labels):
        labels = list(names)
    return list(zip(labels, names))


def _probe(metric: MetricCall, device: torch.device) -> str | None:
    """Why ``metric`` cannot run here (its weights are missing, say), or None when it runs."""
    try:
        metric.check_weights(device)
    except Exception as error:  # noqa: BLE001 - any failure means the metric is not usable here
        return f"{type(error).__name__}: {error}"
    return None


def select_metrics(names: Sequence[str] | None, config: BenchConfig, device: torch.device):
    """``(metrics, skipped)``: the metrics to score and ``{name: reason}`` of defaults left out.

    Without ``names``: every registered FR and NR metric; those that need weights
    are kept only when a probe on a tiny image succeeds (weights found).
    Named metrics must be FR or NR; a named metric whose weights are missing is an error.
    """
    crop_border = config.scale if config.crop_border is None else config.crop_border
    chosen = list(names) if names is not None else sorted(
        (n for n in METRICS if METRICS[n].kind in SCORED_KINDS),
        key=lambda n: (LEADING_METRICS.index(n) if n in LEADING_METRICS else len(LEADING_METRICS), n),
    )
    metrics, skipped = [], {}
    for name in chosen:
        spec = get_metric(name)
        if spec.kind not in SCORED_KINDS:
            raise ValueError(f"metric {name!r} is {spec.kind}; iqa bench scores FR and NR metrics only")
        metric = MetricCall(spec, config.color, crop_border)
        if spec.needs_weights:
            reason = _probe(metric, device)
            if reason is not None:
                if names is not None:
                    raise ValueError(f"metric {name!r} cannot run: {reason}")
                skipped[name] = reason
                continue
        metrics.append(metric)
    return metrics, skipped


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def timed(function, device: torch.device):
    """``(result, milliseconds, peak_extra_bytes)`` of ``function()``; peak memory only on CUDA (else None)."""
    if device.type != "cuda":
        start = time.perf_counter()
        result = function()
        return result, (time.perf_counter() - start) * 1e3, None
    torch.cuda.synchronize(device)
    baseline = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    result = function()
    end.record()
    torch.cuda.synchronize(device)
    return result, start.elapsed_time(end), torch.cuda.max_memory_allocated(device) - baseline


def slug(text: str) -> str:
    """A file-name-safe version of a model or image name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"


def _rows_files(out_dir: Path) -> list[Path]:
    return sorted(out_dir.glob("rows*.jsonl"))


def read_rows(out_dir: Path) -> list[dict]:
    """Every row written so far (all ranks); a torn last line of a killed run is ignored."""
    rows = []
    for path in _rows_files(out_dir):
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def _run_header(config: BenchConfig, models, metrics, images) -> dict:
    return {
        "scale": config.scale, "data": config.data, "lr_dir": config.lr_dir, "color": config.color,
        "crop_border": config.scale if config.crop_border is None else config.crop_border,
        "models": list(models), "metrics": [m.spec.name for m in metrics], "images": [i.name for i in images],
    }


def _check_resume(out_dir: Path, header: dict) -> None:
    """On resume, refuse a folder whose earlier run benchmarked something else (every rank checks, read only)."""
    run_file = out_dir / "run.json"
    if not run_file.is_file():
        return
    earlier = json.loads(run_file.read_text())
    differing = [key for key in ("scale", "data", "lr_dir", "color", "crop_border", "metrics") if earlier.get(key) != header[key]]
    if differing:
        raise ValueError(
            f"--resume: {out_dir} holds a run with other settings ({', '.join(differing)}); "
            f"use another report folder or the same settings"
        )


def _prepare_out_dir(out_dir: Path, header: dict, resume: bool) -> None:
    """Rank 0: create the folder; start fresh, or on resume repair rows files torn by a kill."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in _rows_files(out_dir) + sorted(out_dir.glob("errors*.jsonl")):
        if resume:
            _drop_torn_line(path)
        else:
            path.unlink()
    (out_dir / "run.json").write_text(json.dumps(header, indent=1))


def _drop_torn_line(path: Path) -> None:
    """Cut a half-written last line (a killed run), so that appended rows start on a line of their own."""
    text = path.read_text()
    if text and not text.endswith("\n"):
        path.write_text(text[: text.rfind("\n") + 1])


def _crop_box(hr: Tensor, size: int) -> tuple[int, int, int]:
    """``(top, left, size)`` of the most textured square of ``hr`` (largest mean gradient), for the visual grid."""
    gray = hr[0].mean(dim=0)
    size = min(size, *gray.shape)
    energy = (gray[1:, :-1] - gray[:-1, :-1]).abs() + (gray[:-1, 1:] - gray[:-1, :-1]).abs()
    stride = max(1, size // 4)
    pooled = torch.nn.functional.avg_pool2d(energy[None, None], size - 1, stride=stride)[0, 0]
    index = int(pooled.argmax())
    return (index // pooled.shape[1]) * stride, (index % pooled.shape[1]) * stride, size


def run_bench(config: BenchConfig) -> dict | None:
    """Run the benchmark; returns the results (see :func:`collect_results`) on rank 0, None on other ranks."""
    # Rank 0 waits at the last barrier while the others finish their images: allow a long run.
    distributed = setup(config.device, timeout=datetime.timedelta(hours=12))
    device = distributed.device
    try:
        out_dir = Path(config.out_dir)
        models, sources = _load_models(config, device)
        metrics, skipped = select_metrics(config.metrics, config, device)
        images = resolve_dataset(config.data, config.scale, config.lr_dir)
        header = _run_header(config, models, metrics, images)
        if config.resume:
            _check_resume(out_dir, header)
        if distributed.rank == 0:
            _prepare_out_dir(out_dir, header, config.resume)
        barrier(distributed)
        suffix = f".rank{distributed.rank}" if distributed.world_size > 1 else ""
        done = {(row["model"], row["name"]) for row in read_rows(out_dir)} if config.resume else set()
        _score_shard(
            config, models, metrics, images[distributed.rank :: distributed.world_size], images[0].name,
            device, out_dir, suffix, done,
        )
        barrier(distributed)
        if distributed.rank != 0:
            return None
        return collect_results(config, models, sources, metrics, skipped, images, device, out_dir)
    finally:
        teardown(distributed)


def _append(path: Path, record: dict) -> None:
    with path.open("a") as stream:
        stream.write(json.dumps(json_safe(record), allow_nan=False) + "\n")
        stream.flush()


def _score_shard(config, models, metrics, shard: list[BenchImage], grid_image: str, device, out_dir: Path, suffix: str, done: set):
    rows_file, errors_file = out_dir / f"rows{suffix}.jsonl", out_dir / f"errors{suffix}.jsonl"
    warmed: set[str] = set()
    no_reference = [metric for metric in metrics if metric.spec.kind == "NR"]
    for image in shard:
        pending = [label for label in models if (label, image.name) not in done]
        score_hr = bool(no_reference) and (GROUND_TRUTH, image.name) not in done
        if not pending and not score_hr:
            continue
        try:
            lr, hr = (t.to(device) for t in load_pair(image, config.scale))
        except (ValueError, OSError) as error:
            _append(errors_file, {"model": None, "name": image.name, "error": str(error)})
            continue
        if score_hr:
            with torch.inference_mode():
                row = {"model": GROUND_TRUTH, "name": image.name, "time_ms": None, "peak_mem_mb": None}
                row.update({m.spec.name: _score(m, hr, hr, GROUND_TRUTH, image.name, errors_file) for m in no_reference})
            _append(rows_file, row)
        crop = _start_grid(out_dir, image, lr, hr, config) if image.name == grid_image else None
        for label in pending:
            model = models[label]
            try:
                with torch.inference_mode():
                    if label not in warmed:
                        for _ in range(config.warmup):
                            upscale(model, lr, config.tile, config.tile_overlap)
                        warmed.add(label)
                    output, milliseconds, peak = timed(
                        partial(upscale, model, lr, config.tile, config.tile_overlap), device)
                    # Scored as the 8-bit image a user would save (the SR evaluation convention).
                    output = quantize_to_bits(output.clamp(0, 1), 1.0, 8)
                    row = {"model": label, "name": image.name, "time_ms": milliseconds,
                           "peak_mem_mb": None if peak is None else peak / 2**20}
                    for metric in metrics:
                        row[metric.spec.name] = _score(metric, output, hr, label, image.name, errors_file)
            except (RuntimeError, ValueError) as error:  # e.g. out of memory, a shape the model rejects
                if device.type == "cuda":
                    torch.cuda.empty_cache()  # give the next model a clean slate after an out-of-memory error
                _append(errors_file, {"model": label, "name": image.name, "error": f"{type(error).__name__}: {error}"})
                continue
            _append(rows_file, row)
            if config.save_outputs:
                write_image(out_dir / "outputs" / slug(label) / Path(image.name).with_suffix(".png"), output)
            if crop is not None:
                _save_crop(out_dir, f"model_{slug(label)}", output, crop)


def _call(metric: MetricCall, output: Tensor, hr: Tensor) -> Tensor:
    """``metric`` of one 8-bit model output (against ``hr`` when it is full-reference)."""
    images = (output, hr) if metric.spec.kind == "FR" else (output,)
    return metric(["image"], *images, bits=8)


def _score(metric: MetricCall, output: Tensor, hr: Tensor, label: str, name: str, errors_file: Path):
    try:
        value = float(_call(metric, output, hr)[0])
    except (RuntimeError, ValueError, TypeError) as error:
        _append(errors_file, {"model": label, "name": name, "metric": metric.spec.name, "error": f"{type(error).__name__}: {error}"})
        return None
    return value  # identical images give PSNR inf: _append writes it as "inf"


def _start_grid(out_dir: Path, image: BenchImage, lr: Tensor, hr: Tensor, config: BenchConfig):
    """Choose and record the crop of the visual comparison; save its ground truth and LR input."""
    top, left, size = _crop_box(hr, config.crop_size or 32 * config.scale)
    crops = out_dir / "crops"
    crops.mkdir(exist_ok=True)
    (crops / CROP_FILE).write_text(json.dumps({"image": image.name, "top": top, "left": left, "size": size}))
    _save_crop(out_dir, "ground_truth", hr, (top, left, size))
    # The LR input, enlarged by pixel repetition so that it lines up with the others.
    nearest = lr.repeat_interleave(config.scale, dim=-2).repeat_interleave(config.scale, dim=-1)
    _save_crop(out_dir, "input_lr", nearest, (top, left, size))
    return top, left, size


def _save_crop(out_dir: Path, stem: str, image: Tensor, box) -> None:
    top, left, size = box
    write_image(out_dir / "crops" / f"{stem}.png", image[..., top : top + size, left : left + size])


def _values(rows: list[dict], model: str, metric: str, names: list[str]) -> np.ndarray:
    """Per-image values of ``model`` on ``metric`` in the order of ``names`` (NaN where missing)."""
    by_name = {row["name"]: row.get(metric) for row in rows if row["model"] == model}
    return np.array([float(by_name[n]) if by_name.get(n) is not None else math.nan for n in names])


def _has_nr(metrics) -> bool:
    return any(metric.spec.kind == "NR" for metric in metrics)


def _current_errors(out_dir: Path, rows: list[dict], labels: list[str], names: list[str]) -> list[dict]:
    """The errors that still stand: a resumed folder also holds those of earlier runs.

    Kept, like the rows, only for this run's models and images, the latest per
    (model, image, metric); dropped where a row now exists (a model error), where
    the row now has the metric's value (a metric error), or where every pair of
    the image now has a row (an image that failed to load before).
    """
    by_pair = {(row["model"], row["name"]): row for row in rows}
    latest = {}
    for path in sorted(out_dir.glob("errors*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                error = json.loads(line)
            except json.JSONDecodeError:  # a torn last line of a killed run
                continue
            if error["name"] in names and error["model"] in (None, *labels):
                latest[(error["model"], error["name"], error.get("metric"))] = error
    kept = []
    for (model, name, metric), error in latest.items():
        if model is None:
            stands = any((label, name) not in by_pair for label in labels)
        elif metric is None:
            stands = (model, name) not in by_pair
        else:
            stands = by_pair.get((model, name), {}).get(metric) is None
        if stands:
            kept.append(error)
    return kept


def collect_results(config, models, sources, metrics, skipped, images, device, out_dir: Path) -> dict:
    """Merge every rank's rows into the results document that the report is written from."""
    names = [image.name for image in images]
    # Only this run's models and images (a resumed folder may hold others), one row per pair, the latest kept.
    wanted = {*models, GROUND_TRUTH}, set(names)
    rows = list({(r["model"], r["name"]): r for r in read_rows(out_dir) if r["model"] in wanted[0] and r["name"] in wanted[1]}.values())
    errors = _current_errors(out_dir, rows, [*models, *([GROUND_TRUTH] if _has_nr(metrics) else [])], names)
    labels = list(models)
    baseline = labels[0]
    summary = {}
    for label in labels:
        summary[label] = {}
        for metric in metrics:
            values = _values(rows, label, metric.spec.name, names)
            entry = summarize(values, n_resamples=config.n_resamples, seed=config.seed)
            if label != baseline:
                reference = _values(rows, baseline, metric.spec.name, names)
                statistic, p_value = wilcoxon_signed_rank(values, reference)
                # The paired difference and its CI: the size of the effect that the p-value tests.
                difference = summarize(values - reference, n_resamples=config.n_resamples, seed=config.seed)
                entry.update(p_value=p_value, wilcoxon_statistic=statistic,
                             delta=difference["mean"], delta_ci95=difference["ci95"])
            else:
                entry.update(p_value=None, wilcoxon_statistic=None, delta=None, delta_ci95=None)
            summary[label][metric.spec.name] = entry
    timings = {}
    for label, model in models.items():
        times = np.array([row["time_ms"] for row in rows if row["model"] == label], dtype=np.float64)
        peaks = [row["peak_mem_mb"] for row in rows if row["model"] == label and row.get("peak_mem_mb") is not None]
        weights_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
        mean_ms = float(times.mean()) if times.size else math.nan
        timings[label] = {
            "params": parameter_count(model),
            "ms_per_image": mean_ms,
            "ms_per_image_median": float(np.median(times)) if times.size else math.nan,
            "images_per_s": 1e3 / mean_ms if times.size and mean_ms > 0 else math.nan,
            "peak_mem_mb": (max(peaks) + weights_mb) if peaks else None,
            "n": int(times.size),
        }
    order = {pair: i for i, pair in enumerate((label, name) for label in [*labels, GROUND_TRUTH] for name in names)}
    rows.sort(key=lambda row: order.get((row["model"], row["name"]), len(order)))
    crop_file = out_dir / "crops" / CROP_FILE
    return {
        "iqa_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        # Not asdict(): it would deep-copy the model modules.
        "config": {f.name: getattr(config, f.name) for f in fields(config) if f.name != "models"},
        "device": _device_name(device),
        "dataset": {"source": config.data, "n_images": len(names), "names": names},
        "models": labels,
        "model_sources": sources,
        "baseline": baseline,
        "metrics": {
            metric.spec.name: {
                "kind": metric.spec.kind, "higher_is_better": metric.spec.higher_is_better,
                "convention": metric.convention(), "default_convention": metric.spec.convention,
            }
            for metric in metrics
        },
        "conventions": {
            "lr": "given LR images" if any(i.load_lr for i in images) else
                  f"HR cropped to a multiple of {config.scale}, MATLAB bicubic imresize 1/{config.scale}, rounded to 8 bits",
            "outputs": "model outputs clamped to [0, 1] and rounded to 8 bits before scoring",
            "timing": "model call only (tiles included), after warm-up; CUDA events on GPU; one image at a time",
            "peak_mem_mb": "CUDA only: weights + peak allocation during one model call above its input",
            "ci95": f"95% percentile bootstrap CI of the mean over images, {config.n_resamples} resamples, seed {config.seed}",
            "p_value": f"two-sided Wilcoxon signed-rank test against {baseline!r}, paired by image",
            "delta": f"mean of the per-image difference model - {baseline!r}, with its 95% bootstrap CI (delta_ci95)",
        },
        "skipped_metrics": skipped,
        "summary": summary,
        "timings": timings,
        "crop": json.loads(crop_file.read_text()) if crop_file.is_file() else None,
        # The no-reference metrics of the HR images themselves: what a natural image scores.
        "reference": {
            metric.spec.name: summarize(_values(rows, GROUND_TRUTH, metric.spec.name, names), n_resamples=config.n_resamples, seed=config.seed)
            for metric in metrics if metric.spec.kind == "NR"
        },
        "images": rows,
        "errors": errors,
    }


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"
