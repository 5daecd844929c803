"""Summary statistics a reader can trust: bootstrap confidence intervals and a paired test.

Shared by ``iqa score`` (per-metric summaries) and ``iqa bench`` (model comparisons).
Everything is plain NumPy and deterministic for a given ``seed``.

* :func:`bootstrap_ci`: percentile bootstrap CI of the mean (Efron & Tibshirani,
  *An Introduction to the Bootstrap*, 1993, ch. 13, doi:10.1201/9780429246593).
* :func:`wilcoxon_signed_rank`: Wilcoxon's signed-rank test of paired values
  (Wilcoxon 1945, doi:10.2307/3001968), two-sided, with the exact null
  distribution for small samples. Its decisions follow ``scipy.stats.wilcoxon``
  with default arguments (zeros dropped, no continuity correction), which the
  tests use as the oracle.
* :func:`summarize`: mean, median, std, CI and n of one metric's per-image values.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np

# Above this many pairs the exact null distribution is replaced by the normal
# approximation (the same cut-off as scipy's method="auto").
EXACT_MAX_N = 50
# With ties or zeros the exact table does not apply; up to 2**13 sign patterns
# are enumerated instead (a permutation test that is still exact).
ENUMERATE_MAX_N = 13


def _finite(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array[np.isfinite(array)]


def bootstrap_ci(
    values,
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
    statistic: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``values`` (1-D; non-finite values dropped).

    ``n_resamples`` resamples of the same size are drawn with replacement from a
    generator seeded with ``seed``; the interval is the ``(1 - confidence) / 2``
    and ``(1 + confidence) / 2`` quantiles of their means (or of ``statistic``,
    a function reducing an ``(n_resamples, n)`` array along axis 1). One value
    gives the degenerate interval ``(v, v)``; none gives ``(nan, nan)``.

    Example:
        >>> low, high = bootstrap_ci([30.1, 31.5, 29.8, 30.7, 32.0], seed=0)
        >>> low < 30.82 < high
        True
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if not isinstance(n_resamples, int) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    data = _finite(values, "values")
    if data.size == 0:
        return (math.nan, math.nan)
    if data.size == 1:
        return (float(data[0]), float(data[0]))
    reduce = statistic or (lambda sample: sample.mean(axis=1))
    rng = np.random.default_rng(seed)
    # Resample in chunks so that large n * n_resamples stays within ~64 MB.
    chunk = max(1, (8 << 20) // data.size)
    estimates = np.concatenate([
        reduce(data[rng.integers(0, data.size, size=(min(chunk, n_resamples - start), data.size))])
        for start in range(0, n_resamples, chunk)
    ])
    tail = (1 - confidence) / 2
    low, high = np.quantile(estimates, [tail, 1 - tail])
    return (float(low), float(high))


def summarize(values, *, confidence: float = 0.95, n_resamples: int = 10_000, seed: int = 0) -> dict:
    """``{"mean", "median", "std", "ci95", "n"}`` of the finite ``values`` (std with ddof=1; 0 for one value).

    Non-finite values (PSNR of identical images is ``inf``) cannot enter a mean;
    they are counted in ``"n_nonfinite"``, present only when there are any.
    """
    data = _finite(values, "values")
    nan = math.nan
    summary = {
        "mean": float(data.mean()) if data.size else nan,
        "median": float(np.median(data)) if data.size else nan,
        "std": float(data.std(ddof=1)) if data.size > 1 else (0.0 if data.size else nan),
        "ci95": list(bootstrap_ci(data, confidence=confidence, n_resamples=n_resamples, seed=seed)),
        "n": int(data.size),
    }
    nonfinite = int(np.asarray(values, dtype=np.float64).size - data.size)
    if nonfinite:
        summary["n_nonfinite"] = nonfinite
    return summary


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``values``, ties sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(values.size, dtype=np.float64)
    sorted_values = values[order]
    start = 0
    for end in range(1, values.size + 1):
        if end == values.size or sorted_values[end] != sorted_values[start]:
            ranks[order[start:end]] = (start + 1 + end) / 2  # mean of ranks start+1 .. end
            start = end
    return ranks


def _signed_rank_null(n: int) -> np.ndarray:
    """Probability of each rank sum 0..n(n+1)/2 of the positive differences under H0 (no ties)."""
    pmf = np.zeros(n * (n + 1) // 2 + 1)
    pmf[0] = 1.0
    for rank in range(1, n + 1):
        # Each rank joins the positive sum with probability 1/2, independently.
        shifted = np.zeros_like(pmf)
        shifted[rank:] = pmf[:-rank]
        pmf = (pmf + shifted) / 2
    return pmf


def wilcoxon_signed_rank(x, y) -> tuple[float, float]:
    """Two-sided Wilcoxon signed-rank test of paired samples; returns ``(statistic, p_value)``.

    The differences ``x - y`` that are zero are dropped (Wilcoxon's method) and
    the absolute differences ranked with ties averaged. The statistic is
    ``min(R+, R-)``. The p-value comes from

    * the exact null distribution when there are no ties or zeros and at most
      50 pairs,
    * otherwise, for at most 13 pairs, from all ``2**n`` sign patterns,
    * otherwise from the normal approximation with the tie correction.

    Identical samples (every difference zero) give ``p = 1``. Pairs where
    either value is not finite are dropped; no pairs left give NaN. Note the floor on the p-value
    with few pairs: with ``n`` pairs the smallest two-sided p-value is
    ``2 / 2**n`` (0.25 for 3 images), so tiny sets cannot show significance.

    Example:
        >>> statistic, p = wilcoxon_signed_rank([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [0.0] * 6)
        >>> statistic, round(p, 5)
        (0.0, 0.03125)
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"x and y must be 1-D of the same length, got shapes {a.shape} and {b.shape}")
    paired = np.isfinite(a) & np.isfinite(b)
    differences = a[paired] - b[paired]
    n_total = differences.size
    nonzero = differences[differences != 0]
    n = nonzero.size
    if n_total == 0:
        return (math.nan, math.nan)
    if n == 0:
        return (0.0, 1.0)
    ranks = _average_ranks(np.abs(nonzero))
    r_plus = float(ranks[nonzero > 0].sum())
    r_minus = float(ranks[nonzero < 0].sum())
    has_ties = np.unique(np.abs(nonzero)).size < n
    if not has_ties and n == n_total and n_total <= EXACT_MAX_N:
        pmf = _signed_rank_null(n)
        p = 2 * min(pmf[: math.ceil(r_plus) + 1].sum(), pmf[math.floor(r_plus):].sum())
    elif n_total <= ENUMERATE_MAX_N:
        p = _enumerated_p(ranks, r_plus)
    else:
        p = _normal_p(ranks, r_plus, n)
    return (min(r_plus, r_minus), float(min(1.0, p)))


def _enumerated_p(ranks: np.ndarray, r_plus: float) -> float:
    """Two-sided p of ``r_plus`` over all ``2**n`` equally likely sign patterns of the ranks."""
    signs = np.array(list(itertools.product((0.0, 1.0), repeat=ranks.size)))
    sums = signs @ ranks
    # Rank sums are multiples of 0.5, so a tolerance far below that only absorbs rounding.
    tolerance = 1e-9 * max(1.0, r_plus)
    less = np.mean(sums <= r_plus + tolerance)
    greater = np.mean(sums >= r_plus - tolerance)
    return 2 * min(less, greater)


def _normal_p(ranks: np.ndarray, r_plus: float, n: int) -> float:
    """Two-sided p of R+ from the normal approximation with the tie correction."""
    _, tie_counts = np.unique(ranks, return_counts=True)
    variance = (n * (n + 1) * (2 * n + 1) - (tie_counts**3 - tie_counts).sum() / 2) / 24
    z = (r_plus - n * (n + 1) / 4) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))
