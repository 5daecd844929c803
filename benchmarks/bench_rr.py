"""Reduced-reference metrics: side-information size, speed, and agreement with PSNR/SSIM.

    python benchmarks/bench_rr.py [--images 6] [--size 512] [--threads 2]

No peer library has RR metrics, so the yardstick is iqa's own SSIM on the same
pairs (a full-reference metric that sees the whole reference). For each RR
metric it prints the side information per image, extraction and scoring
rates, and the Spearman correlation with PSNR and SSIM over every
(image, distortion strength) pair of each distortion type. Needs the rr extra.
"""
from __future__ import annotations

import argparse
import math

import torch
import torch.nn.functional as F

import iqa
import iqa.rr
from _timing import natural_pairs, per_second, pin_threads, to_batch

VARIANTS = {"wnism": {}, "rred (grid 8x8)": {}, "rred (full subband)": {"window": 1}, "rred (1 number)": {"grid": 1}}
NOISE = (2 / 255, 5 / 255, 10 / 255, 20 / 255)
BLUR = (0.5, 1.0, 1.5, 2.0)


def _blurred(image: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = math.ceil(3 * sigma)
    taps = torch.exp(-torch.arange(-radius, radius + 1, dtype=image.dtype) ** 2 / (2 * sigma**2))
    taps = (taps / taps.sum()).repeat(image.shape[1], 1, 1, 1)
    padded = F.pad(image, (radius,) * 4, mode="reflect")
    rows = F.conv2d(padded, taps.view(-1, 1, 1, taps.shape[-1]), groups=image.shape[1])
    return F.conv2d(rows, taps.view(-1, 1, taps.shape[-1], 1), groups=image.shape[1])


def _noisy(image: torch.Tensor, sigma: float) -> torch.Tensor:
    noise = torch.randn(image.shape, generator=torch.Generator().manual_seed(0))
    return (image + sigma * noise).clamp(0, 1)


def _spearman(a: list[float], b: list[float]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    pin_threads(args.threads)

    refs = to_batch([reference for reference, _ in natural_pairs(args.images, args.size)])
    dists = to_batch([distorted for _, distorted in natural_pairs(args.images, args.size)])
    n = args.images
    ssim_rate = per_second(lambda: iqa.ssim(dists, refs), n)
    print(f"{n} images {args.size}x{args.size}; iqa.ssim (FR yardstick): {ssim_rate:.1f} pairs/s\n")
    print(f"{'metric':<22}{'side info':>12}{'extract/s':>11}{'score/s':>9}   Spearman vs PSNR, SSIM")
    for label, options in VARIANTS.items():
        metric = label.split()[0]
        features = iqa.rr.extract(refs, metric, **options)
        features = features if isinstance(features, list) else [features]
        extract_rate = per_second(lambda m=metric, o=options: iqa.rr.extract(refs, m, **o), n, repeats=1)
        score_rate = per_second(lambda f=features: iqa.rr.score(f, dists), n, repeats=1)
        sizes = sorted({f.nbytes() for f in features})
        agreement = []
        for name, apply, strengths in (("noise", _noisy, NOISE), ("blur", _blurred, BLUR)):
            rr_values, psnr_values, ssim_values = [], [], []
            for strength in strengths:
                distorted = torch.cat([apply(refs[i : i + 1], strength) for i in range(n)])
                rr_values += iqa.rr.score(features, distorted).tolist()
                psnr_values += iqa.psnr(distorted, refs, reduction="none").tolist()
                ssim_values += iqa.ssim(distorted, refs, reduction="none").tolist()
            agreement.append(f"{name} {_spearman(rr_values, psnr_values):+.3f}, {_spearman(rr_values, ssim_values):+.3f}")
        size = f"{sizes[0]} B" if len(sizes) == 1 else f"{sizes[0]}-{sizes[-1]} B"
        print(f"{label:<22}{size:>12}{extract_rate:>11.2f}{score_rate:>9.2f}   {'; '.join(agreement)}")


if __name__ == "__main__":
    main()
