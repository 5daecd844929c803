"""Summary statistics shared by ``iqa score`` and ``iqa bench``."""
from __future__ import annotations

import math

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 10_000


def bootstrap_ci(
    values, confidence: float = CONFIDENCE, resamples: int = RESAMPLES, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean (seeded, so reports are reproducible).

    With one value the interval is that value; with non-finite values (PSNR of
    identical images is ``inf``) the bounds are computed on the finite-aware
    means, which may themselves be ``inf``.
    """
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return (math.nan, math.nan)
    if data.size == 1:
        return (float(data[0]), float(data[0]))
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    # Chunked so 10,000 resamples of a large set stay within a few MB.
    chunk = max(1, 2_000_000 // data.size)
    for start in range(0, resamples, chunk):
        stop = min(start + chunk, resamples)
        indices = rng.integers(0, data.size, size=(stop - start, data.size))
        with np.errstate(invalid="ignore"):
            means[start:stop] = data[indices].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return (float(low), float(high))


def summarize(values, seed: int = 0) -> dict:
    """``{"mean", "median", "std", "ci95", "n"}`` of per-image values (``std`` with N-1, 95% bootstrap CI)."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return {"mean": None, "median": None, "std": None, "ci95": None, "n": 0}
    with np.errstate(invalid="ignore"):
        std = float(np.std(data, ddof=1)) if data.size > 1 else 0.0
    return {
        "mean": float(np.mean(data)),
        "median": float(np.median(data)),
        "std": std,
        "ci95": list(bootstrap_ci(data, 0.95, seed=seed)),
        "n": int(data.size),
    }
