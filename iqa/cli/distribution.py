"""``iqa fid A B`` and ``iqa kid A B``: distances between two image sets (folders or saved ``.npz`` statistics)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..io.images import IMAGE_SUFFIXES, ImageReadError, read_rgb
from ..io.pairs import image_files
from . import main

def _statistics(source: Path, weights_dir, resize: str, batch_size: int, device: str, failures: list):
    """FeatureStatistics of a folder (featurized here) or of a saved .npz file."""
    import torch
    from tqdm import tqdm

    from ..metrics.fid import FeatureStatistics, inception_features

    if source.is_file():
        return FeatureStatistics.load(source)
    files = image_files(source)
    if not files:
        raise click.UsageError(f"{source} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    chunks = []
    for start in tqdm(range(0, len(files), batch_size), desc=source.name, unit="batch", disable=None,
                      file=sys.stderr):
        images = []
        for path in files[start : start + batch_size]:
            try:
                images.append(read_rgb(path).to(device))
            except ImageReadError as error:
                failures.append({"name": str(path), "error": error.reason})
        if images:
            chunks.append(inception_features(images, weights=weights_dir, resize=resize, batch_size=batch_size))
    if not chunks:
        raise click.ClickException(f"no image of {source} could be read")
    return FeatureStatistics.from_features(torch.cat(chunks).cpu(), resize=resize)


def _device(name: str):
    from ..device import resolve_device

    try:
        return resolve_device(name)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--device") from None


def _common(function):
    options = [
        click.argument("set_a", type=click.Path(exists=True, path_type=Path)),
        click.argument("set_b", type=click.Path(exists=True, path_type=Path)),
        click.option("--weights-dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Folder searched for the Inception weights before the torch hub cache."),
        click.option("--weights", "weights_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="The Inception .pth file itself, used as given (no checksum)."),
        click.option("--resize", type=click.Choice(["bilinear", "bicubic-antialias"]), default="bilinear",
                     show_default=True, help="Resize to 299x299: bilinear as pytorch-fid, or antialiased bicubic."),
        click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True),
        click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1, ..."),
        click.option("--save-stats-a", type=click.Path(dir_okay=False, path_type=Path),
                     help="Save SET_A's statistics and features to this .npz for reuse."),
        click.option("--save-stats-b", type=click.Path(dir_okay=False, path_type=Path),
                     help="Save SET_B's statistics and features to this .npz for reuse."),
        click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _both_statistics(set_a, set_b, weights_dir, weights_file, resize, batch_size, device, save_stats_a,
                     save_stats_b):
    from ..weights import WeightsNotFoundError

    if weights_dir is not None and weights_file is not None:
        raise click.UsageError("give --weights or --weights-dir, not both")
    weights_dir = weights_file or weights_dir
    failures: list = []
    try:
        stats = [
            _statistics(source, weights_dir, resize, batch_size, _device(device), failures)
            for source in (set_a, set_b)
        ]
    except (WeightsNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    for stats_, path in zip(stats, (save_stats_a, save_stats_b)):
        if path is not None:
            stats_.save(path)
    return stats, failures


def _report(result: dict, failures: list, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps({**result, "errors": failures}, indent=2))
    else:
        for key, value in result.items():
            click.echo(f"{key:<10} {value}")
        for failure in failures:
            click.echo(f"error: {failure['name']}: {failure['error']}", err=True)
    if failures:
        sys.exit(1)


@main.command("fid")
@_common
def fid_command(set_a, set_b, weights_dir, weights_file, resize, batch_size, device, save_stats_a, save_stats_b, fmt):
    """FID between the images of SET_A and SET_B (folders, or .npz statistics saved by --save-stats-*)."""
    from ..metrics.fid import fid_from_statistics

    (a, b), failures = _both_statistics(set_a, set_b, weights_dir, weights_file, resize, batch_size, device,
                                        save_stats_a, save_stats_b)
    try:
        value = fid_from_statistics(a, b)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    _report({"fid": value, "n_a": a.n, "n_b": b.n, "resize": a.resize, "extractor": a.extractor}, failures, fmt)


@main.command("kid")
@_common
@click.option("--subsets", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--subset-size", type=click.IntRange(min=2), default=1000, show_default=True,
              help="Clamped to the smaller set's size, with a warning.")
@click.option("--seed", type=int, default=0, show_default=True)
def kid_command(set_a, set_b, weights_dir, weights_file, resize, batch_size, device, save_stats_a, save_stats_b, fmt,
                subsets, subset_size, seed):
    """KID between the images of SET_A and SET_B (folders, or .npz files that kept their features)."""
    from ..metrics.fid import kid

    (a, b), failures = _both_statistics(set_a, set_b, weights_dir, weights_file, resize, batch_size, device,
                                        save_stats_a, save_stats_b)
    for source, stats in ((set_a, a), (set_b, b)):
        if stats.features is None:
            raise click.ClickException(f"{source} holds statistics without features; KID needs the features")
    try:
        a.check_comparable(b)
        result = kid(a.features, b.features, subsets=subsets, subset_size=subset_size, seed=seed)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    _report({"kid": result.mean, "kid_std": result.std, "n_a": a.n, "n_b": b.n, "resize": a.resize,
             "extractor": a.extractor}, failures, fmt)
