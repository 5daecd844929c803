"""WNISM: the wavelet-domain natural image statistic model RR metric of Wang & Simoncelli.

Z. Wang and E. P. Simoncelli, "Reduced-reference image quality assessment
using a wavelet-domain natural image statistic model", Proc. SPIE Human Vision
and Electronic Imaging X, vol. 5666, 2005, doi:10.1117/12.597306.

Sender: a 3-scale, 4-orientation steerable pyramid in the frequency domain
(MATLAB ``buildSFpyr(im, 3, 3)``, here ``pyrtools.SteerablePyramidFreq``) of the
8-bit luminance. For each of six subbands (scale/orientation (1,1), (1,3),
(2,2), (2,4), (3,1), (3,3), 1-based as the authors' code selects them) the
coefficient histogram (101 bins of width 2*4^(scale-1), guard band of
16/2^(scale-1) pixels removed) is fitted by a generalized Gaussian
``p_m(x) ~ exp(-(|x|/alpha)^beta)`` that minimizes ``KL(p_m || p)``
(Nelder-Mead from (2, 0.6), as the authors' ``fminsearch``), and the fit error
``d = KL(p_m || p)`` is kept. The side information is (alpha, beta, d) per
subband: 18 numbers, quantized as the authors' ``feature_quantization.m`` does
to 8+3 bits (alpha: mantissa and exponent), 8 bits (beta) and 8 bits (d),
162 bits in all. One deliberate difference from that code: d is measured on
the model as transmitted (quantized alpha, beta), the model the receiver
rebuilds, so an undistorted image scores <= 0.011 rather than up to ~0.04.

Receiver: ``D = log2(1 + sum_k |KL(p_m^k || q^k) - d^k| / D0)`` with ``q`` the
histogram of the distorted subband; 0 means no detected distortion, larger is
worse. ``D0 = 0.1`` as the paper states (the authors' later ``qaware`` release
uses 0.001; D0 only changes the scale, not the ranking). D grows with noise
and blur strength, but saturates under very strong blur (Gaussian sigma >= 3 px
on 256x256 crops it can even fall back a little): the blurred subbands collapse
into the central histogram bin, and ``kld.m`` only sums over bins where both
histograms are non-zero.

Checked against: the authors' MATLAB release (RRIQA, Dec 2004: ``feature_calculation.m``,
``ggd_hist.m``, ``kld.m``, ``feature_quantization.m``, ``quality_analysis.m``),
read, not run: no MATLAB here. The pyramid is pyrtools, the Python port of the
matlabPyrTools those files call.
"""
from __future__ import annotations

import warnings

import numpy as np
from torch import Tensor

from ._color import convention
from ._rr import Features, rr_luminance, pyrtools, score_each, to_float32
from ._validate import reduce

# 1-based subbands 1, 3, 6, 8, 9, 11 of 12 (4 orientations per scale) in the authors' code.
SUBBANDS = ((0, 0), (0, 2), (1, 1), (1, 3), (2, 0), (2, 2))
_LEVELS, _ORDER = 3, 3
_GUARD_BAND = 16
_BIN_WIDTH, _HALF_DOMAIN = 2.0, 100.0  # at the finest scale; both grow 4x per scale
_SAMPLES_PER_BIN = 30  # ggd_hist.m integrates the model density with 30 midpoints per bin

# feature_quantization.m: alpha as mantissa (8 bits) and decimal exponent (3 bits,
# offset per scale); beta and d on uniform 8-bit grids.
_MANTISSA_STEP = 9 / 256
_EXPONENT_OFFSET = (6, 5, 4)  # exponent + offset in [0, 7] for scale 1, 2, 3
_BETA_MIN, _BETA_STEP = 0.05, 0.00625
_KLD_STEP = 0.00025
_BITS_PER_SUBBAND = 8 + 3 + 8 + 8
# Three pyramid scales with their guard bands leave 8x8 coefficients at the coarsest.
_MIN_SIZE = 64


def _histogram(values: np.ndarray, level: int) -> np.ndarray:
    """MATLAB ``hist(values, centers)`` / count: the outer bins take everything beyond them."""
    width, half = _BIN_WIDTH * 4**level, _HALF_DOMAIN * 4**level
    centers = np.arange(-half, half + width / 2, width)
    edges = (centers[:-1] + centers[1:]) / 2
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=centers.size)
    return counts / values.size


def _model_histogram(alpha: float, beta: float, level: int, bins: int) -> np.ndarray:
    """Bin masses (unnormalized) of the generalized Gaussian on the histogram's bins (``ggd_hist.m``)."""
    from scipy.special import gammaln

    width = _BIN_WIDTH * 4**level
    step = width / _SAMPLES_PER_BIN
    x = -width * bins / 2 + step / 2 + step * np.arange(bins * _SAMPLES_PER_BIN)
    with np.errstate(over="ignore", divide="ignore"):
        log_density = -np.abs(x / alpha) ** beta - np.log(2 * alpha) - gammaln(1 / beta) + np.log(beta)
    masses = np.exp(log_density).reshape(bins, _SAMPLES_PER_BIN).sum(axis=1)
    return masses if masses.any() else np.ones(bins)


def _kld(p: np.ndarray, q: np.ndarray) -> float:
    """``kld.m``: KL(p || q) over the bins where both are positive, renormalized by p's mass there."""
    p, q = p / p.sum(), q / q.sum()
    both = (p > 0) & (q > 0)
    return float(abs(np.sum(p[both] * np.log(p[both] / q[both])) / p[both].sum()))


def _fit(histogram: np.ndarray, level: int) -> tuple[float, float]:
    """(alpha, beta) minimizing KL(model || histogram) (``ggd_fit.m``: fminsearch from (2, 0.6))."""
    from scipy.optimize import minimize

    def error(params: np.ndarray) -> float:
        alpha, beta = np.abs(params)
        return _kld(_model_histogram(alpha, beta, level, histogram.size), histogram)

    # fminsearch defaults: TolX = TolFun = 1e-4, 200 iterations per parameter;
    # scipy's Nelder-Mead starts from the same simplex (5% steps).
    result = minimize(error, [2.0, 0.6], method="Nelder-Mead",
                      options={"xatol": 1e-4, "fatol": 1e-4, "maxiter": 400, "maxfev": 400})
    alpha, beta = np.abs(result.x)
    return float(alpha), float(beta)


def _subband_histograms(luminance: np.ndarray) -> list[np.ndarray]:
    pyramid = pyrtools().pyramids.SteerablePyramidFreq(luminance, height=_LEVELS, order=_ORDER)
    histograms = []
    for level, orientation in SUBBANDS:
        guard = _GUARD_BAND >> level
        band = pyramid.pyr_coeffs[(level, orientation)][guard:-guard, guard:-guard]
        histograms.append(_histogram(band.ravel(), level))
    return histograms


def _encode(alpha: np.ndarray, beta: np.ndarray, kld: np.ndarray, quantized: bool) -> dict[str, list]:
    """The payload: the authors' 162-bit code (``feature_quantization.m``), or float32 values."""
    if not quantized:
        return {"alpha": to_float32(alpha), "beta": to_float32(beta), "kld": to_float32(kld)}
    exponent = np.floor(np.log10(alpha))
    mantissa = np.floor((alpha / 10.0**exponent - 1) / _MANTISSA_STEP)  # dec2bin truncates
    offsets = np.array([_EXPONENT_OFFSET[level] for level, _ in SUBBANDS])
    return {
        "alpha_mantissa": np.clip(mantissa, 0, 255).astype(int).tolist(),
        "alpha_exponent": np.clip(exponent + offsets, 0, 7).astype(int).tolist(),
        "beta_code": np.clip(np.floor((beta - _BETA_MIN) / _BETA_STEP + 0.5), 0, 255).astype(int).tolist(),
        "kld_code": np.clip(np.floor(kld / _KLD_STEP + 0.5), 0, 255).astype(int).tolist(),
    }


def _decode(payload: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(alpha, beta, d) per subband as the receiver sees them (``feature_dequantization.m``)."""
    if "alpha" in payload:
        return (np.asarray(payload["alpha"], float), np.asarray(payload["beta"], float),
                np.asarray(payload["kld"], float))
    offsets = np.array([_EXPONENT_OFFSET[level] for level, _ in SUBBANDS])
    mantissa = np.asarray(payload["alpha_mantissa"], float) * _MANTISSA_STEP + 1
    alpha = mantissa * 10.0 ** (np.asarray(payload["alpha_exponent"], float) - offsets)
    beta = np.asarray(payload["beta_code"], float) * _BETA_STEP + _BETA_MIN
    kld = np.asarray(payload["kld_code"], float) * _KLD_STEP
    return alpha, beta, kld


def _warn_if_saturated(alpha: np.ndarray, beta: np.ndarray, errors: np.ndarray) -> None:
    """The 162-bit code has fixed ranges; say so when a subband falls outside them."""
    sent_alpha, sent_beta, sent_errors = _decode(_encode(alpha, beta, errors, True))
    outside = (np.abs(sent_alpha / alpha - 1) > _MANTISSA_STEP) | (np.abs(sent_beta - beta) > _BETA_STEP) | (
        np.abs(sent_errors - errors) > _KLD_STEP
    )
    if outside.any():
        bands = ", ".join(f"scale {level + 1} orientation {o + 1}" for (level, o), bad in zip(SUBBANDS, outside) if bad)
        warnings.warn(
            f"WNISM: the subband model of {bands} is outside the range of the authors' 162-bit code "
            f"(alpha={alpha[outside]}, beta={beta[outside]}, d={errors[outside]}), so even the reference "
            f"will not score 0; quantize_features=False sends float32 values instead",
            stacklevel=3,
        )


def _model_errors(histograms: list[np.ndarray], alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """KL(p_m || h) per subband for the models (alpha, beta)."""
    return np.array([
        _kld(_model_histogram(alpha[k], beta[k], level, h.size), h)
        for k, (h, (level, _)) in enumerate(zip(histograms, SUBBANDS))
    ])


def wnism_options(
    *, color: str = "gray", crop_border: int = 0, quantize: int | None = 8,
    quantize_features: bool = True, d0: float = 0.1,
) -> dict:
    """The checked options as the features record them (see ``wnism_features``)."""
    if not isinstance(d0, (int, float)) or not d0 > 0:
        raise ValueError(f"d0 must be a positive number, got {d0!r}")
    return {"color": color, "crop_border": crop_border, "quantize": quantize,
            "quantize_features": bool(quantize_features), "d0": float(d0)}


def wnism_features(
    ref: Tensor,
    *,
    data_range: float = 1.0,
    color: str = "gray",
    crop_border: int = 0,
    quantize: int | None = 8,
    quantize_features: bool = True,
    d0: float = 0.1,
) -> list[Features]:
    """WNISM side information of each reference image in ``ref`` ``(N, C, H, W)`` in ``[0, data_range]``.

    ``color``/``crop_border``/``quantize``: the luminance convention (default:
    MATLAB ``rgb2gray`` of the 8-bit image, as the authors' code reads it).
    ``quantize_features=True`` (default) transmits the authors' 162-bit code
    (21 bytes); ``False`` keeps the 18 numbers as float32 (72 bytes).
    ``d0`` is the receiver's constant D0, carried in the features so that
    scoring needs nothing else.
    """
    options = wnism_options(color=color, crop_border=crop_border, quantize=quantize,
                            quantize_features=quantize_features, d0=d0)
    images = rr_luminance(ref, metric='wnism', data_range=data_range, color=color, crop_border=crop_border,
                           quantize=quantize, min_size=_MIN_SIZE)
    records = []
    for luminance in images:
        histograms = _subband_histograms(luminance)
        alpha, beta = np.array([_fit(h, level) for h, (level, _) in zip(histograms, SUBBANDS)]).T
        # d is measured on the model as transmitted, the one the receiver rebuilds
        # (the authors' code uses the unquantized fit, so an undistorted image
        # scored up to ~0.04 instead of <= 0.011).
        sent_alpha, sent_beta, _ = _decode(_encode(alpha, beta, np.zeros_like(alpha), quantize_features))
        errors = _model_errors(histograms, sent_alpha, sent_beta)
        payload = _encode(sent_alpha, sent_beta, errors, quantize_features)
        if quantize_features:
            _warn_if_saturated(alpha, beta, errors)
        bits = _BITS_PER_SUBBAND * len(SUBBANDS) if quantize_features else 32 * 3 * len(SUBBANDS)
        records.append(Features(
            metric="wnism", options=options, convention=convention(color, crop_border, quantize),
            image_size=tuple(ref.shape[-2:]), payload=payload, payload_bits=bits,
        ))
    return records


def _distortion(record: Features, luminance: np.ndarray) -> float:
    alpha, beta, sent = _decode(record.payload)
    received = _model_errors(_subband_histograms(luminance), alpha, beta)
    if not record.options["quantize_features"]:
        received = np.asarray(to_float32(received))  # the precision the reference's d was sent with
    return float(np.log2(1 + np.abs(received - sent).sum() / record.options["d0"]))


def wnism(
    features: Features | list[Features],
    x: Tensor,
    *,
    data_range: float = 1.0,
    reduction: str = "mean",
) -> Tensor:
    """WNISM distortion of the distorted images ``x`` ``(N, C, H, W)`` given the reference features.

    ``features``: one ``Features`` per image (from ``iqa.rr.extract(ref, "wnism")``);
    the color convention and crop come from them. Returns ``(N,)`` float64 with
    ``reduction="none"``; 0 is the best value (no distortion detected).
    Not differentiable.

    Example:
        >>> import iqa.rr
        >>> from iqa.data import sample_images
        >>> ref = sample_images("valid")["astronaut"][..., :128, :128]
        >>> features = iqa.rr.extract(ref, "wnism", quantize_features=False)
        >>> float(wnism(features, ref))
        0.0
    """
    values = score_each(features, x, "wnism", data_range, _MIN_SIZE, _distortion)
    return reduce(values, reduction)
