"""``iqa score`` throughput against the floor of decoding alone, in one run.

    python benchmarks/bench_score.py [--pairs 32] [--size 512] [--workers 1]

Writes PNG pairs to a temporary folder, then times as subprocesses (same
interpreter, 2 threads): (a) a process that only imports torch and decodes
every file, (b) ``iqa score --metrics psnr,ssim,gmsd``, and (c) the same
scoring as a plain library loop of PIL decoding + metric calls with no
overlap. The target is (b) at >= 0.5x the speed of (a).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from _timing import natural_pairs

DECODE_ONLY = r"""
import sys, torch
from pathlib import Path
from torchvision.io import decode_image, ImageReadMode
torch.set_num_threads(2)
for path in sorted(Path(sys.argv[1]).rglob("*.png")):
    decode_image(str(path), mode=ImageReadMode.UNCHANGED)
"""

SEQUENTIAL = r"""
import sys, torch, iqa
from pathlib import Path
from iqa.io import read_image
torch.set_num_threads(2)
root = Path(sys.argv[1])
with torch.inference_mode():
    for ref in sorted((root / "ref").glob("*.png")):
        x = read_image(root / "out" / ref.name).pixels[None]
        y = read_image(ref).pixels[None]
        iqa.psnr(x, y); iqa.ssim(x, y); iqa.gmsd(x, y)
"""


def timed(command: list[str], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env={"OMP_NUM_THREADS": "2", "PATH": ""})
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=32)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "ref").mkdir()
        (root / "out").mkdir()
        for index, (reference, distorted) in enumerate(natural_pairs(args.pairs, args.size)):
            Image.fromarray(reference).save(root / "ref" / f"{index:04d}.png")
            Image.fromarray(distorted).save(root / "out" / f"{index:04d}.png")
        python = sys.executable
        decode = timed([python, "-c", DECODE_ONLY, str(root)])
        score = timed([python, "-m", "iqa", "score", str(root / "ref"), str(root / "out"), "--metrics",
                       "psnr,ssim,gmsd", "--format", "json", "--workers", str(args.workers)])
        sequential = timed([python, "-c", SEQUENTIAL, str(root)])
    pairs = args.pairs
    print(f"{pairs} PNG pairs of {args.size}x{args.size} RGB (best of 3 whole-process runs, incl. startup)")
    print(f"  decode only (import torch + decode {2 * pairs} files): {decode:6.2f} s  {pairs / decode:6.1f} pairs/s")
    print(f"  iqa score psnr,ssim,gmsd (workers={args.workers}):        {score:6.2f} s  {pairs / score:6.1f} pairs/s")
    print(f"  sequential decode + metrics loop:                {sequential:6.2f} s  {pairs / sequential:6.1f} pairs/s")
    print(f"  iqa score speed / decode-only speed: {decode / score:.2f}x (target >= 0.5x)")


if __name__ == "__main__":
    main()
