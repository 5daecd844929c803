"""FID and KID: distances between the Inception-v3 feature distributions of two image sets.

FID: M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler, S. Hochreiter, "GANs
trained by a two time-scale update rule converge to a local Nash equilibrium",
NeurIPS 2017, arXiv:1706.08500. KID: M. Bińkowski, D. J. Sutherland, M. Arbel,
A. Gretton, "Demystifying MMD GANs", ICLR 2018, arXiv:1801.01401.

Features are the 2048-d pool3 activations of the TensorFlow FID Inception
network, in the PyTorch port that pytorch-fid publishes
(``pt_inception-2015-12-05-6726825d.pth``, found by :mod:`iqa.weights`, never
downloaded). The network is torchvision's Inception-v3 with the TF graph's
pooling (average pools that ignore padding, a max pool in the last block);
tests/test_fid.py checks it against ``pytorch_fid.inception.InceptionV3``.

Resize: images are resized to 299x299 with ``resize="bilinear"`` (the default,
as pytorch-fid: ``F.interpolate(bilinear, align_corners=False)``, no
antialiasing), so values are comparable with pytorch-fid's. ``"bicubic-antialias"``
filters before shrinking, as clean-fid (Parmar et al., CVPR 2022,
doi:10.1109/CVPR52688.2022.01112) recommends; it gives other values.

Distribution metrics (registry kind ``DIST``) take two ``(N, D)`` feature arrays
from :func:`inception_features`: ``fid(features_a, features_b)`` and
``kid(features_a, features_b)``.
"""
from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._validate import check_choice, check_image

EXTRACTOR = "inception-v3-pool3/pt_inception-2015-12-05-6726825d"
RESIZES = ("bilinear", "bicubic-antialias")
INPUT_SIZE = 299

# A negative eigenvalue of F^T sigma2 F (sigma1 = F F^T) below this fraction of
# the largest is an imaginary part of sqrtm(sigma1 sigma2), not rounding: float64
# rounding gives about 1e-13 and float32-stored covariances about 1e-7.
_IMAGINARY_TOLERANCE = 1e-5


# --------------------------------------------------------------------------- features


def inception_features(
    images: Tensor | Sequence[Tensor],
    *,
    weights: str | os.PathLike | None = None,
    resize: str = "bilinear",
    batch_size: int = 32,
) -> Tensor:
    """Pool3 features ``(N, 2048)`` (float32) of RGB images in ``[0, 1]``.

    Args:
        images: a ``(N, 3, H, W)`` tensor, or a sequence of ``(3, H, W)`` or
            ``(1, 3, H, W)`` tensors of any sizes (each is resized to 299x299).
        weights: ``pt_inception-2015-12-05-6726825d.pth`` itself (used as given)
            or a folder to search before the torch hub cache (checksum verified).
        resize: ``"bilinear"`` (pytorch-fid's) or ``"bicubic-antialias"``.
    """
    check_choice("resize", resize, RESIZES)
    if isinstance(images, Tensor) and images.ndim == 4:
        _check_rgb(images, "images")
        chunks = (images[start : start + batch_size] for start in range(0, len(images), batch_size))
        resized = (_resize(chunk, resize) for chunk in chunks)
    else:
        images = [images] if isinstance(images, Tensor) else list(images)
        chunks = (images[start : start + batch_size] for start in range(0, len(images), batch_size))
        resized = (torch.cat([resize_for_inception(image, resize) for image in chunk]) for chunk in chunks)
    if len(images) == 0:
        raise ValueError("images is empty")
    network = _network(weights, images[0].device)
    with torch.no_grad():
        return torch.cat([network(batch) for batch in resized])


def resize_for_inception(image: Tensor, resize: str = "bilinear") -> Tensor:
    """One ``(3, H, W)`` or ``(1, 3, H, W)`` image in ``[0, 1]`` as a ``(1, 3, 299, 299)`` float32 batch."""
    image = image.unsqueeze(0) if image.ndim == 3 else image
    _check_rgb(image, "image")
    if image.shape[0] != 1:
        raise ValueError(f"image must be (3, H, W) or (1, 3, H, W), got {tuple(image.shape)}")
    return _resize(image, resize)


def _check_rgb(images: Tensor, name: str) -> None:
    check_image(images, name)
    if images.shape[1] != 3:
        raise ValueError(f"{name} must be RGB, (N, 3, H, W), got {tuple(images.shape)}")


def _resize(images: Tensor, resize: str) -> Tensor:
    images = images.float()
    if resize == "bilinear":
        return F.interpolate(images, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    return F.interpolate(images, size=(INPUT_SIZE, INPUT_SIZE), mode="bicubic", align_corners=False, antialias=True)


def _tf_average_pool(x: Tensor) -> Tensor:
    # TensorFlow's average pool divides by the number of valid pixels, not 9.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


def _tf_max_pool(x: Tensor) -> Tensor:
    # The TF FID graph's last block max-pools where the Inception paper average-pools.
    return F.max_pool2d(x, kernel_size=3, stride=1, padding=1)


def _inception_blocks():
    """torchvision's Inception blocks A, C and E with the TF FID graph's pooling branch."""
    from torchvision.models import inception

    class BlockA(inception.InceptionA):
        def _forward(self, x: Tensor) -> list[Tensor]:
            return [
                self.branch1x1(x),
                self.branch5x5_2(self.branch5x5_1(x)),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                self.branch_pool(_tf_average_pool(x)),
            ]

    class BlockC(inception.InceptionC):
        def _forward(self, x: Tensor) -> list[Tensor]:
            seven = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
            double = x
            for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                          self.branch7x7dbl_4, self.branch7x7dbl_5):
                double = layer(double)
            return [self.branch1x1(x), seven, double, self.branch_pool(_tf_average_pool(x))]

    class BlockE(inception.InceptionE):
        def __init__(self, in_channels: int, pool=_tf_average_pool):
            super().__init__(in_channels)
            self.pool = pool

        def _forward(self, x: Tensor) -> list[Tensor]:
            stem = self.branch3x3_1(x)
            double = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
            return [
                self.branch1x1(x),
                torch.cat([self.branch3x3_2a(stem), self.branch3x3_2b(stem)], 1),
                torch.cat([self.branch3x3dbl_3a(double), self.branch3x3dbl_3b(double)], 1),
                self.branch_pool(self.pool(x)),
            ]

    return BlockA, BlockC, BlockE


class FIDInception(nn.Module):
    """The TF FID Inception-v3 up to pool3: ``(N, 3, 299, 299)`` in ``[0, 1]`` to ``(N, 2048)``."""

    def __init__(self, state_dict: dict[str, Tensor], source: str = "state dict"):
        super().__init__()
        from torchvision.models import inception

        block_a, block_c, block_e = _inception_blocks()
        blocks = [inception.BasicConv2d, block_a, inception.InceptionB, block_c, inception.InceptionD, block_e,
                  inception.InceptionAux]
        # 1008 classes and no aux head: the layout of the ported TF graph; weights=None never downloads.
        with torch.device("meta"):  # no initialization cost; the real weights are assigned below
            network = inception.Inception3(num_classes=1008, aux_logits=False, init_weights=False,
                                           inception_blocks=blocks)
            network.Mixed_7c = block_e(2048, pool=_tf_max_pool)
        try:
            network.load_state_dict(state_dict, assign=True)
        except RuntimeError as error:
            raise ValueError(f"{source} is not the FID Inception state dict: {error}") from error
        self.layers = nn.Sequential(*(getattr(network, name) for name in (
            "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
            "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d",
            "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c", "avgpool",
        )))
        self.eval()
        self.requires_grad_(False)
        self.to(memory_format=torch.channels_last)  # 1.5x faster on CPU (oneDNN), values equal to 1e-7

    def forward(self, images: Tensor) -> Tensor:
        return self.layers((2 * images - 1).contiguous(memory_format=torch.channels_last)).flatten(1)


_networks: dict[tuple[str, str], FIDInception] = {}
_networks_lock = threading.Lock()


def _network(weights: str | os.PathLike | None, device: torch.device) -> FIDInception:
    from ..weights import load_state_dict, resolve_weights

    path = resolve_weights("fid_inception", weights)
    key = (str(path.resolve()), str(device))
    with _networks_lock:
        if key not in _networks:
            _networks[key] = FIDInception(load_state_dict(path), str(path)).to(device)
        return _networks[key]


# --------------------------------------------------------------------------- statistics


@dataclass
class FeatureStatistics:
    """What FID needs of an image set (``mu``, ``sigma``), and KID (``features``), with their provenance."""

    mu: np.ndarray  # (D,) float64
    sigma: np.ndarray  # (D, D) float64
    n: int
    extractor: str = EXTRACTOR
    resize: str = "bilinear"
    features: np.ndarray | None = None  # (n, D) float32, kept so KID can use a saved set

    @classmethod
    def from_features(cls, features, *, extractor: str = EXTRACTOR, resize: str = "bilinear",
                      keep_features: bool = True) -> FeatureStatistics:
        features = _as_features(features, "features")
        if len(features) < 2:
            raise ValueError(f"features needs at least 2 rows for a covariance, got {len(features)}")
        return cls(
            mu=features.mean(axis=0), sigma=np.cov(features, rowvar=False), n=len(features),
            extractor=extractor, resize=resize,
            features=features.astype(np.float32) if keep_features else None,
        )

    def save(self, path: str | os.PathLike) -> None:
        arrays = {"mu": self.mu, "sigma": self.sigma, "n": np.int64(self.n),
                  "extractor": np.str_(self.extractor), "resize": np.str_(self.resize)}
        if self.features is not None:
            arrays["features"] = self.features
        with open(path, "wb") as handle:  # np.savez would append ".npz" to a path without it
            np.savez(handle, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> FeatureStatistics:
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(
                    mu=data["mu"].astype(np.float64), sigma=data["sigma"].astype(np.float64), n=int(data["n"]),
                    extractor=str(data["extractor"]), resize=str(data["resize"]),
                    features=data["features"] if "features" in data else None,
                )
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(f"{path} is not a feature statistics file: {error}") from error

    def check_comparable(self, other: FeatureStatistics) -> None:
        for field in ("extractor", "resize"):
            if getattr(self, field) != getattr(other, field):
                raise ValueError(
                    f"statistics were computed differently ({field}: {getattr(self, field)!r} vs "
                    f"{getattr(other, field)!r}); their FID would not mean anything"
                )


def _as_features(features, name: str) -> np.ndarray:
    if isinstance(features, Tensor):
        features = features.detach().cpu().numpy()
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"{name} must have shape (N, D), got {features.shape}")
    if not np.isfinite(features).all():
        raise ValueError(f"{name} contains NaN or inf")
    return features


# --------------------------------------------------------------------------- FID


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance ``|mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^1/2)`` in float64.

    ``tr (sigma1 sigma2)^1/2`` is the sum of the square roots of the eigenvalues
    of the symmetric ``F^T sigma2 F``, where ``sigma1 = F F^T`` (Cholesky, or
    the eigenvectors above rank tolerance when both covariances are singular;
    the roles swap when only ``sigma1`` is); it has the same nonzero
    eigenvalues as ``sigma1 sigma2``, and ``eigvalsh`` computes them stably. A significantly negative eigenvalue would make the square root
    imaginary; that raises ``ValueError`` instead of being dropped. Checked
    against ``scipy.linalg.sqrtm`` (tests/test_fid.py).
    """
    mu1, mu2 = (np.atleast_1d(np.asarray(m, dtype=np.float64)) for m in (mu1, mu2))
    sigma1, sigma2 = (np.atleast_2d(np.asarray(s, dtype=np.float64)) for s in (sigma1, sigma2))
    dim = mu1.shape[0]
    if mu1.shape != (dim,) or mu2.shape != (dim,) or sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise ValueError(
            f"expected mu (D,) and sigma (D, D) of one D, got mu1 {mu1.shape}, sigma1 {sigma1.shape}, "
            f"mu2 {mu2.shape}, sigma2 {sigma2.shape}"
        )
    factor, other = _factor_one_of(sigma1, sigma2)
    product = factor.T @ other @ factor
    eigenvalues = np.linalg.eigvalsh((product + product.T) / 2)
    _check_real_root(eigenvalues, "sqrtm(sigma1 @ sigma2)")
    trace_root = np.sqrt(np.clip(eigenvalues, 0, None)).sum()
    difference = mu1 - mu2
    return float(difference @ difference + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_root)


def _factor_one_of(sigma1: np.ndarray, sigma2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(F, other)`` with ``F F^T`` one of the two covariances: the Cholesky factor of whichever is
    positive definite (cheap), else the eigenvectors of ``sigma1`` above rank tolerance, ``(D, rank)``.
    ``sigma1 sigma2`` and ``sigma2 sigma1`` have the same eigenvalues, so either order gives the trace."""
    symmetric1, symmetric2 = (sigma1 + sigma1.T) / 2, (sigma2 + sigma2.T) / 2
    for factored, other in ((symmetric1, sigma2), (symmetric2, sigma1)):
        try:
            return np.linalg.cholesky(factored), other
        except np.linalg.LinAlgError:
            pass  # singular (fewer samples than dimensions) or not PSD
    eigenvalues, vectors = np.linalg.eigh(symmetric1)
    _check_real_root(eigenvalues, "sigma1")
    # numpy.linalg.matrix_rank's tolerance: below it an eigenvalue is rounding noise.
    keep = eigenvalues > eigenvalues.max() * len(sigma1) * np.finfo(np.float64).eps
    return vectors[:, keep] * np.sqrt(eigenvalues[keep]), sigma2


def _check_real_root(eigenvalues: np.ndarray, name: str) -> None:
    scale = max(float(np.abs(eigenvalues).max()), np.finfo(np.float64).tiny)
    lowest = float(eigenvalues.min())
    if lowest < -_IMAGINARY_TOLERANCE * scale:
        raise ValueError(
            f"the square root of {name} has a significant imaginary part (eigenvalue {lowest:.3g}, "
            f"{lowest / scale:.2g} of the largest): the covariances are not positive semi-definite; "
            f"check that sigma1 and sigma2 are covariance matrices of the same features"
        )


def fid(features_a, features_b) -> float:
    """FID between two sets of ``(N, D)`` features (lower is better, 0 for equal distributions).

    Warns when a set has fewer samples than dimensions: its covariance is then
    singular and FID is strongly biased upward (use thousands of images, 50k in papers).
    """
    a = FeatureStatistics.from_features(features_a, keep_features=False)
    b = FeatureStatistics.from_features(features_b, keep_features=False)
    return fid_from_statistics(a, b)


def fid_from_statistics(a: FeatureStatistics, b: FeatureStatistics) -> float:
    a.check_comparable(b)
    for label, stats in (("first", a), ("second", b)):
        dim = stats.mu.shape[0]
        if stats.n < dim:
            warnings.warn(
                f"the {label} set has {stats.n} samples for {dim}-d features: its covariance is singular "
                f"and FID is biased upward; compare FIDs only at equal set sizes (papers use 50k)",
                stacklevel=3,
            )
    return frechet_distance(a.mu, a.sigma, b.mu, b.sigma)


# --------------------------------------------------------------------------- KID


class KIDResult(NamedTuple):
    mean: float
    std: float

    def __float__(self) -> float:
        return self.mean


def kid(features_a, features_b, *, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> KIDResult:
    """KID: the unbiased MMD^2 with the cubic kernel ``(a.b / D + 1)^3``, averaged over random subsets.

    Each of ``subsets`` draws ``subset_size`` rows of each set without
    replacement; returns the mean and the standard deviation (``ddof=0``) of the
    subset estimates, in float64. A ``subset_size`` larger than a set is
    clamped to the smaller set's size, with a warning. Lower is better; the
    unbiased estimate can be slightly negative for equal distributions.
    """
    a = _as_features(features_a, "features_a")
    b = _as_features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"features_a and features_b must have the same width, got {a.shape} and {b.shape}")
    if not isinstance(subsets, int) or subsets < 1:
        raise ValueError(f"subsets must be a positive integer, got {subsets!r}")
    smallest = min(len(a), len(b))
    if subset_size > smallest:
        warnings.warn(
            f"subset_size={subset_size} is larger than the sets ({len(a)} and {len(b)} samples); "
            f"using subset_size={smallest}",
            stacklevel=2,
        )
        subset_size = smallest
    if subset_size < 2:
        raise ValueError(f"KID needs at least 2 samples per set, got subset_size={subset_size}")
    rng = np.random.default_rng(seed)
    estimates = [
        _mmd2_unbiased(
            a[rng.choice(len(a), subset_size, replace=False)], b[rng.choice(len(b), subset_size, replace=False)]
        )
        for _ in range(subsets)
    ]
    return KIDResult(float(np.mean(estimates)), float(np.std(estimates)))


def _mmd2_unbiased(a: np.ndarray, b: np.ndarray) -> float:
    m, dim = a.shape
    k_aa = (a @ a.T / dim + 1) ** 3
    k_bb = (b @ b.T / dim + 1) ** 3
    k_ab = (a @ b.T / dim + 1) ** 3
    within = (k_aa.sum() - np.trace(k_aa) + k_bb.sum() - np.trace(k_bb)) / (m * (m - 1))
    return float(within - 2 * k_ab.mean())
