"""``iqa score``: score a folder pair (full-reference) or one folder (no-reference)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import __version__
from ..io.pairs import image_files, pair_names, pair_trees
from ..io.results import FORMATS, ResultLog, csv_header, csv_record, json_safe
from ..metrics.registry import METRICS, list_metrics
from ..device import resolve_device
from ..scorer import Item, metric_calls, score_items
from ..stats import summarize
from . import main


def _default_metrics(kind: str) -> list[str]:
    """Every metric of this kind that needs no downloaded weights."""
    return [name for name in list_metrics(kind=kind) if not METRICS[name].needs_weights]


@main.command("score")
@click.argument("folders", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--metrics", "metric_list", help="Comma-separated metric names (see `iqa metrics`). "
              "Default: every FR metric that needs no weights (NR with one folder).")
@click.option("--color", type=click.Choice(["rgb", "gray", "y"]), default=None,
              help="Color convention for metrics that have one. Default: each metric's own (see `iqa metrics`).")
@click.option("--crop-border", type=click.IntRange(min=0), default=0, show_default=True,
              help="Pixels removed from each side before scoring (SR convention: the scale).")
@click.option("--rr", "rr_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Reduced-reference features of the references (from `iqa rr extract`); then give only OUT_DIR.")
@click.option("--niqe-params", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A NIQE pristine model from `iqa niqe-fit` instead of the published one.")
@click.option("--weights-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Where LPIPS looks for its backbone weights first (see `iqa weights`).")
@click.option("--out-suffix", default="", help="Suffix stripped from output stems when pairing, e.g. _x4.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--workers", type=click.IntRange(min=0), default=1, show_default=True,
              help="Decoding processes running ahead of the scoring (0: decode in the main process).")
@click.option("--compile", "compile_mode", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
              help="torch.compile the SSIM kernel: ~4x faster per image after a one-time compile of 10-30 s; "
              "auto turns it on from 1000 same-size images.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Default: table on a terminal, json otherwise.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write results here as they are produced.")
@click.option("--resume", is_flag=True, help="Skip the images already scored in --output.")
def score_command(folders, metric_list, color, crop_border, rr_file, niqe_params, weights_dir, out_suffix, device, batch_size, workers, compile_mode, fmt,
                  output, resume):
    """Score OUT_DIR against REF_DIR (full-reference), or one folder alone (no-reference).

    \b
      iqa score REF_DIR OUT_DIR            pairs files by relative path and stem
      iqa score OUT_DIR                    no-reference metrics only
      iqa score --rr FEATURES.json OUT_DIR reduced-reference metrics (features from `iqa rr extract`)

    Exit status: 0 all scored, 1 some inputs failed (listed; the rest is scored), 2 usage error.
    """
    if len(folders) > 2:
        raise click.UsageError(f"give REF_DIR OUT_DIR or one folder, got {len(folders)} folders")
    if resume and output is None:
        raise click.UsageError("--resume needs --output: the file whose rows are kept")
    features = None
    if rr_file is not None:
        if len(folders) != 1:
            raise click.UsageError("with --rr give only OUT_DIR: the references are in the features file")
        if color is not None or crop_border:
            raise click.UsageError("--color and --crop-border come from the features file with --rr; "
                                   "choose them at `iqa rr extract`")
        features = _load_rr_features(rr_file)
    kind = "RR" if features is not None else "FR" if len(folders) == 2 else "NR"
    if metric_list:
        names = [name.strip() for name in metric_list.split(",") if name.strip()]
    elif features is not None:
        names = sorted({metric for per_image in features.values() for metric in per_image})
    else:
        names = _default_metrics(kind)
    if not names:
        raise click.UsageError(f"no {kind} metric is available; see `iqa metrics`")
    try:
        extra = {}
        if niqe_params is not None:
            extra["niqe"] = {"params": str(niqe_params)}
        if weights_dir is not None:
            extra["lpips"] = {"weights": str(weights_dir)}
        calls = metric_calls(names, kind, color, crop_border, features, extra)
        torch_device = resolve_device(device)
        for call in calls.values():
            call.check_weights(torch_device)
    except (KeyError, ValueError) as error:
        raise click.UsageError(str(error.args[0] if error.args else error)) from None
    except FileNotFoundError as error:  # weights that cannot ship: the message says how to provide them
        raise click.UsageError(str(error)) from None
    fmt = fmt or ("table" if sys.stdout.isatty() else "json")

    log = ResultLog(output, fmt, names, resume)
    if kind in ("FR", "RR"):
        if kind == "FR":
            pairing = pair_trees(folders[0], folders[1], out_suffix)
            items = [Item(name, (ref, out)) for name, ref, out in pairing.pairs]
        else:
            pairing = pair_names(list(features), str(rr_file), folders[0], out_suffix)
            items = [Item(name, (out,)) for name, _, out in pairing.pairs]
            items = _with_features(items, features, names, rr_file, log)
        for problem in pairing.problems:
            log.add_error(problem["name"], problem["error"])
    else:
        root = folders[0]
        items = [Item(path.relative_to(root).as_posix(), (path,)) for path in image_files(root)]
    if not items and not log.errors:
        raise click.UsageError(f"no image files found in {', '.join(map(str, folders))}")

    with _progress(len(items) - len(log.done & {item.name for item in items})) as advance:
        bit_depths = score_items(items, calls, log, torch_device, batch_size, workers, advance, compile_mode)

    document = {
        "iqa_version": __version__,
        "mode": kind,
        "folders": [str(folder) for folder in folders],
        "metrics": {
            name: {
                "kind": call.spec.kind,
                "higher_is_better": call.spec.higher_is_better,
                "convention": call.convention(bit_depths),
                "definition": call.spec.convention,
            }
            for name, call in calls.items()
        },
        "summary": {name: summarize([row[name] for row in log.rows if name in row]) for name in names},
        "images": sorted(log.rows, key=lambda row: row["name"]),
        "errors": log.errors,
    }
    log.finish(document)
    _emit(document, fmt, output)
    sys.exit(1 if log.errors else 0)


def _load_rr_features(path: Path) -> dict:
    from ..rr import load_features

    try:
        return load_features(path)
    except (ValueError, FileNotFoundError) as error:
        raise click.UsageError(str(error)) from None


def _with_features(items: list[Item], features: dict, names: list[str], source: Path, log: ResultLog) -> list[Item]:
    """Items whose features hold every requested metric; the others become errors."""
    kept = []
    for item in items:
        missing = [name for name in names if name not in features[item.name]]
        if missing:
            log.add_error(item.name, f"{source} has no {', '.join(missing)} features for this image")
        else:
            kept.append(item)
    return kept


class _progress:
    """A tqdm bar on a terminal, nothing otherwise."""

    def __init__(self, total: int):
        self.total = total
        self.bar = None

    def __enter__(self):
        if sys.stderr.isatty() and self.total > 0:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="img", desc="scoring", file=sys.stderr)
        return self.bar.update if self.bar is not None else (lambda count: None)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


def _emit(document: dict, fmt: str, output: Path | None) -> None:
    if fmt == "json" and output is None:
        import json

        click.echo(json.dumps(json_safe(document), indent=2))
    elif fmt == "table":
        text = format_table(document)
        if output is not None:
            output.write_text(text + "\n", encoding="utf-8")
        click.echo(text)
    elif output is None:  # csv/jsonl to stdout: rows after the run
        _echo_rows(document, fmt)
    if document["errors"]:
        click.echo(f"{len(document['errors'])} input(s) failed:", err=True)
        for entry in document["errors"]:
            click.echo(f"  {entry['name']}: {entry['error']}", err=True)


def _echo_rows(document: dict, fmt: str) -> None:
    import csv
    import io
    import json

    names = list(document["metrics"])
    if fmt == "jsonl":
        for entry in document["images"] + document["errors"]:
            click.echo(json.dumps(json_safe(entry)))
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(csv_header(names))
    writer.writerows(csv_record(entry, names) for entry in document["images"] + document["errors"])
    click.echo(buffer.getvalue().rstrip("\n"))


def format_table(document: dict) -> str:
    """The per-metric summary as an aligned text table."""
    lines = [f"{'metric':<10} {'better':<7} {'mean':>10} {'median':>10} {'std':>9} {'95% CI':>23} {'n':>5}  convention"]
    lines.append("-" * (len(lines[0]) + 12))
    for name, stats in document["summary"].items():
        meta = document["metrics"][name]
        better = "higher" if meta["higher_is_better"] else "lower"
        if stats["n"] == 0:
            lines.append(f"{name:<10} {better:<7} {'-':>10} {'-':>10} {'-':>9} {'-':>23} {0:>5}  {meta['convention']}")
            continue
        low, high = stats["ci95"]
        lines.append(
            f"{name:<10} {better:<7} {stats['mean']:>10.4f} {stats['median']:>10.4f} {stats['std']:>9.4f} "
            f"{f'[{low:.4f}, {high:.4f}]':>23} {stats['n']:>5}  {meta['convention']}"
        )
    return "\n".join(lines)
