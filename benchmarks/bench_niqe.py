"""NIQE speed and values: iqa.niqe against pyiqa's NIQE on the same images, side by side.

    PYTHONPATH=. python benchmarks/bench_niqe.py [--images 8] [--threads 2] [--repeats 3]

Both get the same 8-bit luminance images (512x384 crops of the sample
photographs, MATLAB rgb2gray, rounded) and the same published model (pyiqa's
parameters file is written from ours into a temporary folder, so nothing is
downloaded). Runs alternate between the two libraries, and the medians are
compared, in wall-clock time and in CPU time of all threads (the latter is the
steadier of the two on a shared, oversubscribed machine). pyiqa computes its Gaussian window in float32, so its values drift
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


def timed(function) -> tuple[float, float, torch.Tensor]:
    """Wall-clock and CPU seconds (all threads) of one call, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return time.perf_counter() - wall, time.process_time() - cpu, result


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
            times, results = {"iqa.niqe": ([], []), "pyiqa NIQE": ([], [])}, {}
            for _ in range(args.repeats):  # alternate so that load changes hit both alike
                for name, call in (("iqa.niqe", ours_call), ("pyiqa NIQE", peer_call)):
                    wall, cpu, results[name] = timed(call)
                    times[name][0].append(wall)
                    times[name][1].append(cpu)
    count = images.shape[0]
    print(f"{count} images {images.shape[-2]}x{images.shape[-1]}, {args.threads} threads, median of {args.repeats}")
    medians = {name: (statistics.median(w), statistics.median(c)) for name, (w, c) in times.items()}
    for name, (wall, cpu) in medians.items():
        print(f"{name:11s} wall {wall:.3f} s ({wall / count * 1000:.1f} ms/image), CPU {cpu:.3f} s")
    (ours_wall, ours_cpu), (peer_wall, peer_cpu) = medians["iqa.niqe"], medians["pyiqa NIQE"]
    print(f"speed ratio (pyiqa / iqa): wall {peer_wall / ours_wall:.2f}x, CPU time {peer_cpu / ours_cpu:.2f}x")
    ours, theirs = results["iqa.niqe"], results["pyiqa NIQE"]
    difference = (ours - theirs).abs()
    print(f"values: iqa {[round(v, 4) for v in ours.tolist()]}")
    print(f"        pyiqa {[round(v, 4) for v in theirs.tolist()]}")
    print(f"max |difference| {float(difference.max()):.2e}, max relative {float((difference / theirs.abs()).max()):.2e}")


if __name__ == "__main__":
    main()
