"""The benchmark report: results.json, results.csv, PNG plots, a self-contained report.html and a terminal table."""
from __future__ import annotations

import base64
import csv
import html
import json
import math
from pathlib import Path

from ..io.atomic import atomic_write, atomic_write_text
from ..io.results import json_safe
from .runner import slug

# Preferred axes of the perception-distortion plane (Blau & Michaeli, CVPR 2018, doi:10.1109/CVPR.2018.00652).
FIDELITY_PREFERENCE = ("psnr", "ssim", "ms_ssim")
PERCEPTUAL_PREFERENCE = ("lpips", "dists", "niqe", "piqe", "brisque", "gmsd")
# Distinct markers keep models visible when their points coincide.
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*", "<", ">")
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")


def write_report(results: dict, out_dir: str | Path) -> dict[str, Path]:
    """Write every report file into ``out_dir``; returns ``{kind: path}``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": out / "results.json", "csv": out / "results.csv", "html": out / "report.html"}
    # Each file replaced whole, so a killed run never leaves a half-written report over a good one.
    atomic_write_text(files["json"], json.dumps(json_safe(results), indent=1, allow_nan=False))
    atomic_write(files["csv"], lambda temporary: _write_csv(results, temporary))
    files.update(write_plots(results, out))
    atomic_write_text(files["html"], render_html(results, out, files))
    return files


def _write_csv(results: dict, path: Path) -> None:
    columns = ["model", "name", "time_ms", "peak_mem_mb", *results["metrics"]]
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in results["images"]:
            writer.writerow({key: ("" if row.get(key) is None else row.get(key)) for key in columns})


def plane_axes(results: dict) -> tuple[str, str] | None:
    """``(fidelity, perceptual)`` metric names for the perception-distortion plane, or None."""
    metrics = results["metrics"]
    fidelity = next((m for m in FIDELITY_PREFERENCE if m in metrics), None)
    perceptual = next((m for m in PERCEPTUAL_PREFERENCE if m in metrics), None)
    if perceptual is None:  # any other no-reference metric is perceptual by nature
        perceptual = next((m for m, info in metrics.items() if info["kind"] == "NR"), None)
    if fidelity is None or perceptual is None or fidelity == perceptual:
        return None
    return fidelity, perceptual


def _direction(results: dict, metric: str) -> str:
    return "higher is better" if results["metrics"][metric]["higher_is_better"] else "lower is better"


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def write_plots(results: dict, out: Path) -> dict[str, Path]:
    """The perception-distortion plane, one CI plot per metric and the speed plot, as PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 11, "axes.titlesize": 13, "axes.spines.top": False, "axes.spines.right": False})
    files = {}
    axes = plane_axes(results)
    if axes is not None:
        files["plot_plane"] = _plot_plane(plt, results, out / "perception_distortion.png", *axes)
    for metric in results["metrics"]:
        files[f"plot_{metric}"] = _plot_metric(plt, results, out / f"ci_{slug(metric)}.png", metric)
    files["plot_speed"] = _plot_speed(plt, results, out / "speed.png")
    return files


def _plot_plane(plt, results: dict, path: Path, fidelity: str, perceptual: str) -> Path:
    figure, ax = plt.subplots(figsize=(7.5, 5.5), dpi=110)
    for index, model in enumerate(results["models"]):
        x, y = results["summary"][model][perceptual], results["summary"][model][fidelity]
        if not (_finite(x["mean"]) and _finite(y["mean"])):
            continue
        color = PALETTE[index % len(PALETTE)]
        ax.errorbar(
            x["mean"], y["mean"],
            xerr=[[x["mean"] - x["ci95"][0]], [x["ci95"][1] - x["mean"]]],
            yerr=[[y["mean"] - y["ci95"][0]], [y["ci95"][1] - y["mean"]]],
            fmt=MARKERS[index % len(MARKERS)], color=color, markersize=10, markerfacecolor="none", markeredgewidth=2,
            capsize=4, alpha=0.85, label=model,
        )
    reference = results.get("reference", {}).get(perceptual)
    if reference is not None and _finite(reference["mean"]):
        ax.axvline(reference["mean"], color="#555", linestyle="--", linewidth=1.2,
                   label=f"ground truth (HR): {reference['mean']:.4g}")
    # A legend rather than labels at the points: close models would print their names on top of each other.
    ax.legend(loc="best", frameon=True, fontsize=10)
    better_x = "right" if results["metrics"][perceptual]["higher_is_better"] else "left"
    ax.set_xlabel(f"{perceptual} ({_direction(results, perceptual)}: {better_x})")
    ax.set_ylabel(f"{fidelity} ({_direction(results, fidelity)})")
    ax.set_title("Perception-distortion plane (means with 95% CIs)")
    ax.grid(alpha=0.3)
    ax.margins(0.15)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def _plot_metric(plt, results: dict, path: Path, metric: str) -> Path:
    """Mean and 95% CI of each model (a dot plot: bars from zero would hide differences of a few dB)."""
    models = results["models"]
    figure, ax = plt.subplots(figsize=(7.5, 1.2 + 0.55 * len(models)), dpi=110)
    for index, model in enumerate(models):
        entry = results["summary"][model][metric]
        if not _finite(entry["mean"]):
            continue
        low, high = entry["ci95"]
        color = PALETTE[index % len(PALETTE)]
        ax.hlines(index, low, high, color=color, linewidth=5, alpha=0.35)
        ax.plot(entry["mean"], index, "o", color=color, markersize=8)
        ax.annotate(f"{entry['mean']:.4g}", (high, index), textcoords="offset points", xytext=(6, -4), fontsize=10)
    labels = [f"{model}  (baseline)" if results["summary"][model][metric]["p_value"] is None
              else f"{model}  (p={results['summary'][model][metric]['p_value']:.2g})" for model in models]
    ax.set_yticks(range(len(models)), labels)
    ax.set_ylim(len(models) - 0.5, -0.5)
    ax.set_xlabel(f"{metric}, {_direction(results, metric)}")
    ax.set_title(f"{metric}: mean and 95% CI over {results['dataset']['n_images']} images")
    ax.grid(axis="x", alpha=0.3)
    ax.margins(x=0.2)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def _plot_speed(plt, results: dict, path: Path) -> Path:
    models = results["models"]
    speeds = [results["timings"][m]["ms_per_image"] for m in models]
    figure, ax = plt.subplots(figsize=(7.5, 1.2 + 0.55 * len(models)), dpi=110)
    ax.barh(range(len(models)), [s if _finite(s) else 0 for s in speeds], color=PALETTE[: len(models)] * 10)
    for index, value in enumerate(speeds):
        if _finite(value):
            ax.annotate(f"{value:.4g} ms", (value, index), textcoords="offset points", xytext=(4, -4), fontsize=10)
    ax.set_yticks(range(len(models)), models)
    ax.set_ylim(len(models) - 0.5, -0.5)
    ax.set_xlabel(f"ms per image on {results['device']} (lower is faster)")
    ax.set_title("Model speed")
    ax.margins(x=0.2)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


# ---------------------------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1300px;color:#222;padding:0 1rem}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{font-size:1.3rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
.meta{color:#555;margin-top:0}table{border-collapse:collapse;margin:.6rem 0;font-size:.93rem}
th,td{border:1px solid #ddd;padding:.35rem .6rem;text-align:right;vertical-align:top}
th{background:#f4f6f8}td:first-child,th:first-child{text-align:left}tr:nth-child(even) td{background:#fafbfc}
.best{font-weight:700;background:#e8f5e9 !important}.ci{color:#666;font-size:.82rem;white-space:nowrap}.p{font-size:.82rem;color:#666;white-space:nowrap}
.sig{color:#b71c1c;font-weight:600}.note{background:#f6f8fa;border-left:4px solid #90a4ae;padding:.6rem 1rem;max-width:1000px}
.plots{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}.plots img{max-width:620px;width:100%;height:auto;border:1px solid #eee}
.grid{display:flex;flex-wrap:wrap;gap:.8rem}.grid figure{margin:0;text-align:center}
.grid img{width:256px;height:256px;image-rendering:pixelated;border:1px solid #ccc}
.grid figcaption{font-size:.85rem;max-width:256px;overflow-wrap:anywhere}.err{color:#b71c1c}
td.text,th.text{text-align:left}th,td:first-child{white-space:nowrap}td{min-width:6em}.scroll{overflow-x:auto}
"""


def _image_tag(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _fmt(value, digits: int = 4) -> str:
    if value is None or value == "nan" or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}g}"


def _signed(value, digits: int = 4) -> str:
    return f"{value:+.{digits}g}" if _finite(value) else "n/a"


def _best_models(results: dict, metric: str) -> set[str]:
    means = {m: results["summary"][m][metric]["mean"] for m in results["models"]}
    finite = {m: v for m, v in means.items() if _finite(v)}
    if not finite:
        return set()
    best = (max if results["metrics"][metric]["higher_is_better"] else min)(finite.values())
    return {m for m, v in finite.items() if v == best}


def _summary_table(results: dict) -> str:
    metrics = list(results["metrics"])
    head = "".join(
        f"<th>{html.escape(m)} {'&uarr;' if results['metrics'][m]['higher_is_better'] else '&darr;'}</th>" for m in metrics
    )
    lines = [f"<div class=scroll><table><tr><th>model</th>{head}</tr>"]
    best = {m: _best_models(results, m) for m in metrics}
    for model in results["models"]:
        cells = [f"<td>{html.escape(model)}{' <span class=ci>(baseline)</span>' if model == results['baseline'] else ''}</td>"]
        for metric in metrics:
            entry = results["summary"][model][metric]
            p = entry["p_value"]
            p_text = "" if p is None else (
                f"<br><span class=ci>&Delta; {_signed(entry['delta'], 3)} [{_fmt(entry['delta_ci95'][0], 3)}, "
                f"{_fmt(entry['delta_ci95'][1], 3)}]</span>"
                f"<br><span class='p{' sig' if p < 0.05 else ''}'>p = {_fmt(p, 2)}</span>")
            cls = " class=best" if model in best[metric] else ""
            cells.append(f"<td{cls}>{_fmt(entry['mean'])}<br><span class=ci>[{_fmt(entry['ci95'][0])}, "
                         f"{_fmt(entry['ci95'][1])}]</span>{p_text}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    if results.get("reference"):  # the HR images' own no-reference scores, for scale
        cells = ["<td>ground truth (HR)</td>"]
        for metric in metrics:
            entry = results["reference"].get(metric)
            cells.append("<td>&mdash;</td>" if entry is None else
                         f"<td>{_fmt(entry['mean'])}<br><span class=ci>[{_fmt(entry['ci95'][0])}, {_fmt(entry['ci95'][1])}]</span></td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</table></div>")
    return "\n".join(lines)


def _speed_table(results: dict) -> str:
    header = ("<table><tr><th>model</th><th class=text>source</th><th>parameters</th><th>ms / image</th>"
              "<th>median ms</th><th>images / s</th><th>peak device memory (MB)</th></tr>")
    lines = [header]
    sources = results.get("model_sources", {})
    for model in results["models"]:
        timing = results["timings"][model]
        lines.append(
            f"<tr><td>{html.escape(model)}</td><td class=text>{html.escape(str(sources.get(model, '')))}</td>"
            f"<td>{_fmt(timing['params'])}</td><td>{_fmt(timing['ms_per_image'])}</td>"
            f"<td>{_fmt(timing['ms_per_image_median'])}</td><td>{_fmt(timing['images_per_s'])}</td>"
            f"<td>{_fmt(timing['peak_mem_mb'])}</td></tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _grid(results: dict, out: Path) -> str:
    crop = results.get("crop")
    crops = out / "crops"
    if crop is None or not crops.is_dir():
        return "<p>No comparison crop was recorded.</p>"
    rows = {row["model"]: row for row in results["images"] if row["name"] == crop["image"]}
    fidelity = (plane_axes(results) or (next(iter(results["metrics"]), None),))[0]
    tiles = [("ground_truth", "ground truth (HR)"), ("input_lr", f"LR input, x{results['config']['scale']} pixel repeat")]
    for model in results["models"]:
        value = rows.get(model, {}).get(fidelity) if fidelity else None
        caption = model + (f" — {fidelity} {_fmt(value)} on this image" if value is not None else "")
        tiles.append((f"model_{slug(model)}", caption))
    figures = [
        f"<figure>{_image_tag(crops / f'{stem}.png', caption)}<figcaption>{html.escape(caption)}</figcaption></figure>"
        for stem, caption in tiles if (crops / f"{stem}.png").is_file()
    ]
    where = f"{crop['size']}&times;{crop['size']} HR pixels at (top {crop['top']}, left {crop['left']})"
    return (f"<p>The same crop of <b>{html.escape(crop['image'])}</b> ({where}, its most textured region), "
            f"enlarged without smoothing.</p><div class=grid>{''.join(figures)}</div>")


def _conventions(results: dict) -> str:
    lines = ["<table><tr><th>metric</th><th>kind</th><th>direction</th><th class=text>as scored here</th><th class=text>registry default</th></tr>"]
    for name, info in results["metrics"].items():
        lines.append(
            f"<tr><td>{html.escape(name)}</td><td>{info['kind']}</td><td>{_direction(results, name)}</td>"
            f"<td class=text>{html.escape(info['convention'])}</td><td class=text>{html.escape(info['default_convention'])}</td></tr>")
    lines.append("</table><ul>")
    lines += [f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in results["conventions"].items()]
    lines.append("</ul>")
    return "\n".join(lines)


def _per_image(results: dict) -> str:
    metrics = list(results["metrics"])
    head = "".join(f"<th>{html.escape(m)}</th>" for m in metrics)
    body = "".join(
        f"<tr><td>{html.escape(row['model'])}</td><td class=text>{html.escape(row['name'])}</td><td>{_fmt(row.get('time_ms'))}</td>"
        + "".join(f"<td>{_fmt(row.get(m))}</td>" for m in metrics) + "</tr>"
        for row in results["images"])
    return (f"<details><summary>{len(results['images'])} rows (also in results.csv)</summary>"
            f"<div class=scroll><table><tr><th>model</th><th>image</th><th>ms</th>{head}</tr>{body}</table></div></details>")


def _notes(results: dict) -> str:
    n = results["dataset"]["n_images"]
    floor = 2.0 / 2**n if n else 1.0
    low_n = (f" <b>With {n} images the smallest p-value this test can give is {floor:.2g}</b>, so no difference can "
             f"reach p &lt; 0.05 here: benchmark more images (for example <code>--data samples:all</code> or DIV2K) "
             f"before calling a difference real." if floor >= 0.05 else "")
    return (
        "<div class=note><p><b>How to read this.</b> Each cell is the mean over images with its 95% bootstrap "
        "confidence interval in brackets: if the benchmark were repeated on another set of images like these, the "
        "mean would fall in such an interval 95% of the time. These intervals are wide because images differ much more "
        "than models do, so overlapping intervals do not mean two models are equal: the images are shared, and the "
        "paired comparison answers that. &Delta; is the mean per-image difference from the baseline with its own 95% CI, "
        "and p comes from a paired, two-sided "
        f"Wilcoxon signed-rank test of each model against the baseline <b>{html.escape(results['baseline'])}</b>, "
        "image by image. A small p (below 0.05, shown in red) means the difference is unlikely to be noise; a large "
        "p means these images cannot tell the two models apart (not that they are equal)." + low_n + "</p></div>")


def render_html(results: dict, out: Path, files: dict[str, Path]) -> str:
    """The self-contained report page (inline CSS, images embedded as base64)."""
    config = results["config"]
    plots = [files[key] for key in files if key.startswith("plot_") and key != "plot_speed"]
    plot_tags = "".join(_image_tag(path, path.stem) for path in plots)
    skipped = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in results["skipped_metrics"].items())
    errors = "".join(f"<li class=err>{html.escape(json.dumps(e))}</li>" for e in results["errors"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>iqa bench report</title><style>{_CSS}</style></head><body>
<h1>iqa bench: x{config['scale']} super-resolution</h1>
<p class=meta>{results['dataset']['n_images']} images from <code>{html.escape(results['dataset']['source'])}</code>
 &middot; {len(results['models'])} model{'s' if len(results['models']) != 1 else ''} &middot; device {html.escape(results['device'])}
 &middot; iqa {html.escape(results['iqa_version'])} &middot; {html.escape(results['created'])}</p>
{_notes(results)}
<h2>Scores</h2>
{_summary_table(results)}
<p class=ci>&uarr; higher is better, &darr; lower is better; the best mean per metric is highlighted.</p>
<h2>Plots</h2><div class=plots>{plot_tags}</div>
<h2>Visual comparison</h2>{_grid(results, out)}
<h2>Speed</h2>{_speed_table(results)}
<p class=ci>{html.escape(results['conventions']['timing'])}. Peak memory: {html.escape(results['conventions']['peak_mem_mb'])}.</p>
<div class=plots>{_image_tag(files['plot_speed'], 'speed')}</div>
<h2>Conventions</h2>{_conventions(results)}
{f'<h2>Metrics left out</h2><ul>{skipped}</ul>' if skipped else ''}
{f'<h2>Errors</h2><ul>{errors}</ul>' if errors else ''}
<h2>Per image</h2>{_per_image(results)}
</body></html>
"""


def _columns(table: list[list[str]]) -> list[str]:
    """Left-aligned text columns with a rule under the header row."""
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def format_table(results: dict) -> str:
    """A plain-text summary for the terminal: one line per metric and model (so it stays narrow), then speed."""
    table = [["metric", "model", "mean", "95% CI", "delta vs baseline", "p"]]
    for metric, info in results["metrics"].items():
        label = f"{metric} {'(higher better)' if info['higher_is_better'] else '(lower better)'}"
        for index, model in enumerate(results["models"]):
            entry = results["summary"][model][metric]
            delta = "" if entry["p_value"] is None else _signed(entry["delta"])
            p = "" if entry["p_value"] is None else _fmt(entry["p_value"], 2)
            table.append([label if index == 0 else "", model, _fmt(entry["mean"]),
                          f"[{_fmt(entry['ci95'][0])}, {_fmt(entry['ci95'][1])}]", delta, p])
        reference = results.get("reference", {}).get(metric)
        if reference is not None:
            table.append(["", "ground truth (HR)", _fmt(reference["mean"]),
                          f"[{_fmt(reference['ci95'][0])}, {_fmt(reference['ci95'][1])}]", "", ""])
    speed = [["model", "params", "ms/image", "images/s", "peak MB"]]
    for model in results["models"]:
        timing = results["timings"][model]
        speed.append([model, _fmt(timing["params"]), _fmt(timing["ms_per_image"]), _fmt(timing["images_per_s"]),
                      _fmt(timing["peak_mem_mb"])])
    n = results["dataset"]["n_images"]
    note = (f"{n} images; 95% bootstrap CIs; delta and p (two-sided Wilcoxon signed-rank, paired by image) "
            f"against the baseline {results['baseline']}")
    return "\n".join([*_columns(table), note, "", *_columns(speed), f"on {results['device']}"])
