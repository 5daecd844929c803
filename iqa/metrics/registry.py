"""The one table of every metric the toolkit provides.

Each entry names the function that computes the metric (imported lazily, so
importing the registry imports no metric code), its kind, its direction, its
range and the convention its defaults reproduce. The CLI's choices, ``iqa
metrics`` and the README table all come from here.

Kinds: ``FR`` full-reference (``f(x, ref)``), ``NR`` no-reference (``f(x)``),
``RR`` reduced-reference (features of the reference, then ``f(features, x)``:
``features`` is one ``iqa.rr.Features`` per image of ``x``, made by
``iqa.rr.extract(ref, name)``; the convention travels in the features),
``DIST`` distribution metrics between image sets: ``f(features_a, features_b)``
on two ``(N, D)`` feature arrays (``iqa.inception_features`` for FID and KID).
"""
from __future__ import annotations

import difflib
import fnmatch
import importlib
import math
from dataclasses import dataclass
from typing import Callable

KINDS = ("FR", "NR", "RR", "DIST")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: str
    higher_is_better: bool
    value_range: tuple[float, float]
    differentiable: bool
    needs_weights: bool
    # The color convention of the defaults; None for metrics without a color option.
    default_color: str | None
    convention: str  # what the defaults reproduce, in words
    function: str  # "module:attribute"

    def load(self) -> Callable:
        module, attribute = self.function.split(":")
        return getattr(importlib.import_module(module), attribute)


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in [
        MetricSpec(
            "psnr", "FR", True, (0.0, math.inf), True, False, "rgb",
            "MSE over all channels, 10*log10(peak^2/MSE) per image",
            "iqa.metrics.psnr:psnr",
        ),
        MetricSpec(
            "ssim", "FR", True, (-1.0, 1.0), True, False, "gray",
            "Wang ssim_index.m: MATLAB rgb2gray (uint8-rounded), Gaussian 11/1.5, K=(0.01, 0.03), valid, no downsampling",
            "iqa.metrics.ssim:ssim",
        ),
        MetricSpec(
            "ms_ssim", "FR", True, (0.0, 1.0), True, False, "gray",
            "Wang msssim.m: MATLAB rgb2gray (uint8-rounded), 5 scales, weights 0.0448..0.1333, symmetric 2x2 average",
            "iqa.metrics.ssim:ms_ssim",
        ),
        MetricSpec(
            "gmsd", "FR", False, (0.0, 1.0), True, False, "gray",
            "Xue GMSD.m: MATLAB rgb2gray (uint8-rounded), 2x2 average + downsample, Prewitt, T=170, std2",
            "iqa.metrics.gmsd:gmsd",
        ),
        MetricSpec(
            "wnism", "RR", False, (0.0, math.inf), False, False, "gray",
            "Wang-Simoncelli RRIQA: MATLAB rgb2gray (uint8), buildSFpyr 3x4, GGD fits of 6 subbands, 162-bit side info, D0=0.1",
            "iqa.metrics.wnism:wnism",
        ),
        MetricSpec(
            "rred", "RR", False, (0.0, math.inf), False, False, "gray",
            "Soundararajan-Bovik extract_red_info.m: MATLAB rgb2gray (uint8), buildSpyr sp5 subband 16, 3x3 blocks, "
            "sigma_N^2=0.1; side info pooled on an 8x8 grid (64 float32)",
            "iqa.metrics.rred:rred",
        ),
        MetricSpec(
            "niqe", "NR", False, (0.0, math.inf), False, False, "gray",
            "LIVE computequality.m: MATLAB rgb2gray (uint8-rounded), 96x96 blocks, 2 scales (MATLAB imresize 0.5), published pristine model",
            "iqa.metrics.niqe:niqe",
        ),
        MetricSpec(
            "piqe", "NR", False, (0.0, 100.0), False, False, "gray",
            "MATLAB piqe.m: rgb2gray, round(255*I), replicate-padded 16x16 blocks, thresholds 0.1",
            "iqa.metrics.piqe:piqe",
        ),
        MetricSpec(
            "lpips", "FR", False, (0.0, math.inf), True, True, None,
            "Zhang LPIPS v0.1, AlexNet backbone, [0,1] inputs (lpips package with normalize=True)",
            "iqa.metrics.lpips:lpips",
        ),
        MetricSpec(
            "fid", "DIST", False, (0.0, math.inf), False, True, None,
            "Heusel FID on pytorch-fid Inception pool3 features (pt_inception-2015-12-05), bilinear resize to 299",
            "iqa.metrics.fid:fid",
        ),
        MetricSpec(
            "kid", "DIST", False, (-math.inf, math.inf), False, True, None,
            "Binkowski KID: unbiased MMD^2, cubic kernel, 100 subsets of 1000, on the FID Inception features",
            "iqa.metrics.fid:kid",
        ),
    ]
}


def get_metric(name: str) -> MetricSpec:
    """The spec of ``name``; an unknown name raises ``KeyError`` with close matches."""
    try:
        return METRICS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(METRICS), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise KeyError(f"unknown metric {name!r}{hint} (known: {', '.join(sorted(METRICS))})") from None


def list_metrics(kind: str | None = None, pattern: str | None = None) -> list[str]:
    """Names of the registered metrics, optionally filtered by kind and a glob pattern."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    return sorted(
        name
        for name, spec in METRICS.items()
        if (kind is None or spec.kind == kind) and (pattern is None or fnmatch.fnmatch(name, pattern))
    )
