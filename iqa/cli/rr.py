"""``iqa rr extract``: reduced-reference features of every image in a folder, in one JSON file."""
from __future__ import annotations

import difflib
import warnings
from pathlib import Path

import click

from .. import rr
from ..io import ImageReadError, read_image
from ..io.pairs import image_files
from . import main


def _metric_list(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in rr.RR_METRICS]
    if unknown or not names:
        close = difflib.get_close_matches(unknown[0], rr.RR_METRICS, n=1) if unknown else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise click.BadParameter(f"{', '.join(unknown) or repr(value)}{hint}: choose from {', '.join(rr.RR_METRICS)}")
    return names


@main.group("rr")
def rr_group() -> None:
    """Reduced-reference metrics: extract features at the sender, score at the receiver."""


@rr_group.command("extract")
@click.argument("ref_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The features file to write (JSON).")
@click.option("--metrics", "metric_names", default=",".join(rr.RR_METRICS), show_default=True,
              help="Comma-separated RR metrics.")
@click.option("--rred-grid", type=click.IntRange(min=1), default=None,
              help="RRED side information: sums over a GRID x GRID split of the subband (default 8: 64 numbers).")
@click.option("--rred-window", type=click.IntRange(min=1), default=None,
              help="RRED side information: sums over WINDOW x WINDOW blocks instead (1: the full subband).")
@click.option("--color", type=click.Choice(["gray", "y", "rgb"]), default="gray", show_default=True,
              help="Luminance convention; the receiver's score uses the one recorded in the features.")
@click.option("--crop-border", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Keep the images the output file already has; extract the rest.")
def extract_command(ref_dir: Path, output: Path, metric_names: str, rred_grid: int | None,
                    rred_window: int | None, color: str, crop_border: int, resume: bool) -> None:
    """Write the RR features of every image under REF_DIR, keyed by relative path (e.g. sub/0801.png)."""
    metrics = _metric_list(metric_names)
    if rred_grid is not None and rred_window is not None:
        raise click.UsageError("pass --rred-grid or --rred-window, not both")
    convention = {"color": color, "crop_border": crop_border}
    options = {"wnism": dict(convention), "rred": {"grid": rred_grid, "window": rred_window, **convention}}
    resolved = {metric: rr.resolve_options(metric, **options[metric]) for metric in metrics}
    paths = image_files(ref_dir)
    if not paths:
        raise click.UsageError(f"no images found under {ref_dir}")
    if output.exists() and not resume:
        raise click.UsageError(f"{output} exists; pass --resume to continue it or remove it")
    store = rr.FeatureFile(output, resume=resume)
    sizes: dict[str, list[int]] = {metric: [] for metric in metrics}
    failed = 0
    try:
        for path in paths:
            name = path.relative_to(ref_dir).as_posix()
            todo = [m for m in metrics if not store.has(name, m, resolved[m])]
            try:
                image = read_image(path).pixels if todo else None
                for metric in todo:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        store.add(name, rr.extract(image, metric, **options[metric]))
                    for warning in caught:  # e.g. WNISM's code range: name the file, not our source line
                        click.echo(f"warning: {name}: {warning.message}", err=True)
            except ValueError as error:  # an ImageReadError too; one bad file must not stop the folder
                failed += 1
                reason = error.reason if isinstance(error, ImageReadError) else str(error)
                store.fail(name, reason)
                click.echo(f"error: {name}: {reason}", err=True)
            for metric in metrics:
                record = store.images.get(name, {}).get(metric)
                if record is not None:
                    sizes[metric].append(rr.Features.from_dict(record).nbytes())
    finally:
        store.close()
    _report(output, len(paths), sizes)
    if failed:
        click.echo(f"{failed} of {len(paths)} images failed (listed under 'errors' in {output})", err=True)
        raise SystemExit(1)


def _report(output: Path, count: int, sizes: dict[str, list[int]]) -> None:
    total = sum(sum(values) for values in sizes.values())
    done = max((len(values) for values in sizes.values()), default=0)
    click.echo(f"wrote features of {done} of {count} images to {output}")
    for metric, values in sizes.items():
        if values:
            low, high = min(values), max(values)
            per_image = f"{low} B" if low == high else f"{low}-{high} B"
            click.echo(f"  {metric}: {per_image} per image, {sum(values)} B in all ({len(values)} images)")
    if done:
        click.echo(f"  side information: {total} B in all, {total / done:.0f} B per image")
