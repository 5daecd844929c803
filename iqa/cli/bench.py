"""``iqa bench``: compare super-resolution models on a dataset (a shell over :mod:`iqa.bench`)."""
from __future__ import annotations

import sys

import click

from ..metrics._color import COLORS
from . import main


def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise click.BadParameter("give at least one name")
    return names


@main.command("bench")
@click.option("--models", help="Comma-separated zoo names or checkpoint paths; the first is the baseline "
              "of the paired tests. [default: every bundled model of --scale, bicubic first]")
@click.option("--data", default="samples:valid", show_default=True,
              help="samples:valid|samples:all|samples:train, a DIV2K root (DIV2K_valid_HR, "
                   "DIV2K_valid_LR_bicubic/X<scale>) or a folder of HR images.")
@click.option("--lr-dir", "lr_dir", type=click.Path(exists=True, file_okay=False),
              help="Folder of LR images matching --data by name (<stem>.png or <stem>x<scale>.png); "
                   "default: made from HR with MATLAB bicubic, rounded to 8 bits.")
@click.option("--scale", default=4, show_default=True, type=click.IntRange(2, 8))
@click.option("--metrics", help="Comma-separated metric names (see `iqa metrics`). "
              "[default: every FR and NR metric that runs here]")
@click.option("--color", default="y", show_default=True, type=click.Choice(COLORS),
              help="Color convention for metrics that have one.")
@click.option("--crop-border", type=click.IntRange(0), help="Pixels cropped from each side before scoring. [default: --scale]")
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu, cuda, cuda:1, ...")
@click.option("--report", "out_dir", default="bench-report", show_default=True, type=click.Path(file_okay=False),
              help="Folder for results.json, results.csv, report.html and the plots.")
@click.option("--save-outputs", is_flag=True, help="Also write every model output as PNG under REPORT/outputs/.")
@click.option("--resume", is_flag=True, help="Continue a killed run in REPORT, skipping (model, image) pairs already scored.")
@click.option("--tile", default=256, show_default=True, type=click.IntRange(0),
              help="Upscale larger images in tiles of this many LR pixels, a multiple of 8 (0: never tile).")
@click.option("--tile-overlap", default=16, show_default=True, type=click.IntRange(0),
              help="LR context pixels around each tile, a multiple of 8.")
@click.option("--resamples", "n_resamples", default=10_000, show_default=True, type=click.IntRange(1),
              help="Bootstrap resamples for the 95% CIs.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the bootstrap.")
def bench_command(models, data, lr_dir, scale, metrics, color, crop_border, device, out_dir, save_outputs, resume,
                  tile, tile_overlap, n_resamples, seed) -> None:
    """Run super-resolution models, time and score them, and write a comparison report.

    Without options: the bundled x4 models on the embedded validation photographs,
    every metric that runs here, report in ./bench-report. Under `torchrun`, each
    process scores its share of the images and rank 0 writes the report.
    """
    from ..bench import BenchConfig, format_table, run_bench, write_report

    # The tiler works in blocks of 8 LR pixels (as `iqa upscale`); tile 0 turns tiling off.
    if tile % 8 or tile_overlap % 8:
        raise click.UsageError(f"--tile and --tile-overlap must be multiples of 8, got {tile} and {tile_overlap}")
    config = BenchConfig(
        models=_names(models), data=data, lr_dir=lr_dir, scale=scale, metrics=_names(metrics), color=color,
        crop_border=crop_border, device=device, out_dir=out_dir, save_outputs=save_outputs, resume=resume,
        tile=tile, tile_overlap=tile_overlap, n_resamples=n_resamples, seed=seed,
    )
    try:
        results = run_bench(config)
    except (KeyError, ValueError, FileNotFoundError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        click.echo(f"iqa bench: {message}", err=True)
        sys.exit(2)
    if results is None:  # a torchrun rank other than 0: rank 0 reports
        return
    files = write_report(results, out_dir)
    click.echo(format_table(results))
    click.echo(f"report: {files['html']}  (results.json, results.csv, plots in {out_dir})")
    if results["errors"]:
        click.echo(f"{len(results['errors'])} failures, listed in results.json under 'errors'", err=True)
        sys.exit(1)
