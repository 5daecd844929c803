"""NIQE speed and values: iqa.niqe against pyiqa's NIQE on the same images, side by side.

    PYTHONPATH=. python benchmarks/bench_niqe.py [--images 8] [--threads 2] [--repeats 3]

Both get the same 8-bit luminance images (512x384 crops of the sample
photographs, MATLAB rgb2gray, rounded) and the same published model (pyiqa's
parameters file is written from ours into a temporary folder, so nothing is
downloaded). Runs alternate between the two libraries, and the medians are
compared. pyiqa computes its Gaussian window in float32, so its values drift
from MATLAB's by up to ~1e-3; the value differences are printed.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch


def crops(count: int, height: int = 384, width: int = 512) -> torch.Tensor:
    from iqa.data import sample_images
    from iqa.metrics._color import convert_color

    photos = [p for p in sample_images().values() if p.shape[-2] >= height and p.shape[-1] >= width]
    picked = [photos[i % len(photos)] for i in range(count)]
    rgb = torch.cat([p[..., :height, :width] for p in picked])
    return convert_color(rgb.double(), "gray")  # rounded MATLAB rgb2gray, one channel


def pyiqa_metric(folder: Path):
    import scipy.io
    from pyiqa.archs.niqe_arch import NIQE

    from iqa.metrics.niqe import load_niqe_params

    mean, cov = load_niqe_params()
    path = folder / "niqe_modelparameters.mat"
    scipy.io.savemat(path, {"mu_prisparam": mean.numpy()[None], "cov_prisparam": cov.numpy()})
    return NIQE(pretrained_model_path=str(path))


def median_time(function, repeats: int) -> tuple[float, torch.Tensor]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import iqa

    images = crops(args.images)
    with tempfile.TemporaryDirectory() as folder:
        peer = pyiqa_metric(Path(folder))
        with torch.no_grad():
            ours_call = lambda: iqa.niqe(images, reduction="none")  # noqa: E731
            peer_call = lambda: peer(images).flatten()  # noqa: E731
            ours_call(), peer_call()  # warm-up
            ours_times, peer_times = [], []
            for _ in range(args.repeats):  # alternate so that load changes hit both alike
                ours_time, ours = median_time(ours_call, 1)
                peer_time, theirs = median_time(peer_call, 1)
                ours_times.append(ours_time)
                peer_times.append(peer_time)
    ours_time, peer_time = statistics.median(ours_times), statistics.median(peer_times)
    count = images.shape[0]
    print(f"{count} images {images.shape[-2]}x{images.shape[-1]}, {args.threads} threads, median of {args.repeats}")
    print(f"iqa.niqe   {ours_time:.3f} s  ({ours_time / count * 1000:.1f} ms/image)")
    print(f"pyiqa NIQE {peer_time:.3f} s  ({peer_time / count * 1000:.1f} ms/image)")
    print(f"speed ratio (pyiqa / iqa): {peer_time / ours_time:.2f}x")
    difference = (ours - theirs).abs()
    print(f"values: iqa {[round(v, 4) for v in ours.tolist()]}")
    print(f"        pyiqa {[round(v, 4) for v in theirs.tolist()]}")
    print(f"max |difference| {float(difference.max()):.2e}, max relative {float((difference / theirs.abs()).max()):.2e}")


if __name__ == "__main__":
    main()
