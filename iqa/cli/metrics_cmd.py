"""``iqa metrics``: print the registry."""
from __future__ import annotations

import json
import math

import click

from ..metrics.registry import KINDS, METRICS, list_metrics
from . import main


def _range(low: float, high: float) -> str:
    show = lambda v: ("inf" if v > 0 else "-inf") if math.isinf(v) else f"{v:g}"  # noqa: E731
    return f"[{show(low)}, {show(high)}]"


@main.command("metrics")
@click.option("--kind", type=click.Choice(KINDS), help="Only metrics of this kind.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def metrics_command(kind: str | None, fmt: str) -> None:
    """List every metric with its kind, direction, range and default convention."""
    names = list_metrics(kind=kind)
    if fmt == "json":
        rows = {
            name: {
                "kind": METRICS[name].kind,
                "higher_is_better": METRICS[name].higher_is_better,
                "range": [METRICS[name].value_range[0], METRICS[name].value_range[1]],
                "differentiable": METRICS[name].differentiable,
                "needs_weights": METRICS[name].needs_weights,
                "default_color": METRICS[name].default_color,
                "convention": METRICS[name].convention,
            }
            for name in names
        }
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    header = f"{'metric':<10} {'kind':<5} {'better':<7} {'range':<12} {'grad':<5} {'weights':<8} {'color':<6} convention"
    click.echo(header)
    click.echo("-" * len(header))
    for name in names:
        spec = METRICS[name]
        click.echo(
            f"{name:<10} {spec.kind:<5} {'higher' if spec.higher_is_better else 'lower':<7} "
            f"{_range(*spec.value_range):<12} {'yes' if spec.differentiable else 'no':<5} "
            f"{'yes' if spec.needs_weights else 'no':<8} {spec.default_color or '-':<6} {spec.convention}"
        )
