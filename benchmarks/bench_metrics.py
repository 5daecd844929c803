"""Full-reference metrics: iqa against scikit-image, piq and torchmetrics, side by side in one run.

    python benchmarks/bench_metrics.py [--pairs 16] [--size 512] [--threads 2]

Every comparison runs the same computation on the same images (e.g. SSIM per
RGB channel with Wang's settings in both libraries) and prints the largest
value difference next to the speed ratio. Needs the bench extra:
pip install -e ".[bench]".
"""
from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch

import iqa
from _timing import natural_pairs, per_second, pin_threads, to_batch

# scikit-image gets float32 arrays in [0, 1] (given uint8 it would work in float64 and run slower).
WANG = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0, channel_axis=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import piq
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    pin_threads(args.threads)  # after the peers' imports, so their thread pools are limited too

    pairs = natural_pairs(args.pairs, args.size)
    refs, outs = to_batch([r for r, _ in pairs]), to_batch([d for _, d in pairs])
    float_pairs = [(r.astype(np.float32) / 255, d.astype(np.float32) / 255) for r, d in pairs]
    n = args.pairs
    rows = []

    def compare(label, ours, peer_name, peer, ours_values, peer_values, rounds=3):
        # Alternate the two sides and keep the median of each, so a slow spell of the shared
        # machine (or a fresh process warming up) does not land on one side only.
        rates = [(per_second(ours, n), per_second(peer, n)) for _ in range(rounds)]
        ours_rate = statistics.median(rate for rate, _ in rates)
        peer_rate = statistics.median(rate for _, rate in rates)
        difference = float(np.max(np.abs(np.asarray(ours_values) - np.asarray(peer_values))))
        rows.append((label, peer_name, ours_rate, peer_rate, ours_rate / peer_rate, difference))

    with torch.inference_mode():
        # PSNR over all channels.
        sk_psnr = lambda: [peak_signal_noise_ratio(r, d, data_range=1.0) for r, d in float_pairs]  # noqa: E731
        our_psnr = lambda: iqa.psnr(outs, refs, reduction="none")  # noqa: E731
        compare("psnr", our_psnr, "scikit-image", sk_psnr, our_psnr().tolist(), sk_psnr())

        # SSIM per RGB channel, Wang's settings, no downsampling.
        sk_ssim = lambda: [structural_similarity(r, d, **WANG) for r, d in float_pairs]  # noqa: E731
        our_ssim_rgb = lambda: iqa.ssim(outs, refs, color="rgb", reduction="none")  # noqa: E731
        compare("ssim rgb", our_ssim_rgb, "scikit-image", sk_ssim, our_ssim_rgb().tolist(), sk_ssim())
        piq_ssim = lambda: piq.ssim(outs, refs, data_range=1.0, downsample=False, reduction="none")  # noqa: E731
        compare("ssim rgb", our_ssim_rgb, "piq", piq_ssim, our_ssim_rgb().tolist(), piq_ssim().tolist())

        # MS-SSIM on the luminance both libraries can be given: our MATLAB gray, as one channel.
        from iqa.metrics._color import convert_color

        gray_refs, gray_outs = convert_color(refs, "gray"), convert_color(outs, "gray")
        our_ms = lambda: iqa.ms_ssim(gray_outs, gray_refs, reduction="none")  # noqa: E731
        piq_ms = lambda: piq.multi_scale_ssim(gray_outs, gray_refs, data_range=1.0, reduction="none")  # noqa: E731
        compare("ms_ssim", our_ms, "piq", piq_ms, our_ms().tolist(), piq_ms().tolist())

        # GMSD: piq normalizes the deviation by N, GMSD.m (and iqa) by N - 1; rescale piq to compare values.
        samples = (args.size // 2) ** 2
        our_gmsd = lambda: iqa.gmsd(gray_outs, gray_refs, reduction="none")  # noqa: E731
        piq_gmsd = lambda: piq.gmsd(gray_outs, gray_refs, data_range=1.0, reduction="none")  # noqa: E731
        compare("gmsd", our_gmsd, "piq", piq_gmsd, our_gmsd().tolist(),
                (piq_gmsd() * (samples / (samples - 1)) ** 0.5).tolist())

        try:
            from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

            tm = lambda: tm_ssim(outs, refs, data_range=1.0, reduction="none")  # noqa: E731
            compare("ssim rgb", our_ssim_rgb, "torchmetrics", tm, our_ssim_rgb().tolist(), tm().tolist())
        except ImportError:
            pass

        default_rate = per_second(lambda: iqa.ssim(outs, refs, reduction="none"), n)

        # The compiled kernel (what `iqa score` uses from 1000 same-size images): compile time apart.
        import time

        from iqa.metrics.ssim import use_compiled_kernels

        use_compiled_kernels(True)
        start = time.perf_counter()
        our_ssim_rgb()
        compile_seconds = time.perf_counter() - start
        compare("ssim rgb compiled", our_ssim_rgb, "scikit-image", sk_ssim, our_ssim_rgb().tolist(), sk_ssim())
        compiled_default_rate = per_second(lambda: iqa.ssim(outs, refs, reduction="none"), n)
        use_compiled_kernels(False)

    print(f"{n} pairs of {args.size}x{args.size} RGB, {args.threads} threads, torch {torch.__version__}")
    print(f"{'metric':<18} {'peer':<13} {'iqa img/s':>10} {'peer img/s':>11} {'ratio':>7} {'max |diff|':>11}")
    for label, peer, ours, theirs, ratio, difference in rows:
        print(f"{label:<18} {peer:<13} {ours:>10.1f} {theirs:>11.1f} {ratio:>6.2f}x {difference:>11.2e}")
    print(f"iqa.ssim with its default convention (MATLAB gray, 1 channel): {default_rate:.1f} img/s eager, "
          f"{compiled_default_rate:.1f} img/s compiled (first compile {compile_seconds:.0f} s)")


if __name__ == "__main__":
    main()
