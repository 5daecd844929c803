"""Time ``iqa.lpips`` against the ``lpips`` package side by side, at equal values.

Both run the same backbone weights: the real torchvision file when it is in the
torch hub cache, else random weights in torchvision's format written to a
temporary TORCH_HOME (the timing and the agreement do not depend on the weight
values). Two workloads: distinct reference/output pairs, and one reference
compared with many outputs (``y = ref.expand_as(x)``, where iqa computes the
reference features once).

    PYTHONPATH=$PWD python benchmarks/bench_lpips.py --threads 2 --pairs 16 --size 256

``--autocast bf16|fp16`` (meant for a GPU, ``--device cuda``) also times iqa under
autocast and prints its drift from float32; the lpips package is not run in
reduced precision.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import torch


def random_torchvision_weights(net: str, folder: Path) -> Path:
    """Random backbone weights saved under torchvision's file name and layout."""
    import torchvision

    from iqa.metrics.lpips import NETS
    from iqa.weights import KNOWN_WEIGHTS

    entry = KNOWN_WEIGHTS[NETS[net][0]]
    builder = {"alex": torchvision.models.alexnet, "vgg": torchvision.models.vgg16,
               "squeeze": torchvision.models.squeezenet1_1}[net]
    path = folder / "hub" / "checkpoints" / entry.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(builder(weights=None).state_dict(), path)
    return path


def interleaved_medians(functions, repeats: int) -> list[float]:
    """Median seconds of each function, run in alternation so machine load affects all alike."""
    for function in functions:
        function()  # warm-up: allocator, oneDNN primitive cache
    times = [[] for _ in functions]
    for _ in range(repeats):
        for function, samples in zip(functions, times):
            start = time.perf_counter()
            function()
            samples.append(time.perf_counter() - start)
    return [statistics.median(samples) for samples in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--net", default="alex", choices=["alex", "vgg", "squeeze"])
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--autocast", choices=["bf16", "fp16"], default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")

    import iqa
    from iqa.metrics.lpips import NETS
    from iqa.weights import WeightsNotFoundError, find_weights

    with tempfile.TemporaryDirectory() as home:
        try:
            weights = find_weights(NETS[args.net][0])
            origin = "real ImageNet weights"
        except WeightsNotFoundError:
            os.environ["TORCH_HOME"] = home
            weights = random_torchvision_weights(args.net, Path(home))
            origin = "random weights (torchvision format)"
        os.environ["TORCH_HOME"] = str(weights.parent.parent.parent)
        import lpips

        package = lpips.LPIPS(net=args.net, pretrained=True, verbose=False).eval().to(args.device)

        generator = torch.Generator().manual_seed(0)
        outputs = torch.rand(args.pairs, 3, args.size, args.size, generator=generator).to(args.device)
        references = torch.rand(args.pairs, 3, args.size, args.size, generator=generator).to(args.device)
        one_reference = references[:1].expand_as(outputs)

        def synchronize():
            if torch.device(args.device).type == "cuda":
                torch.cuda.synchronize()

        def run_package(y):
            with torch.no_grad():
                values = torch.cat([
                    package(outputs[i : i + args.batch], y[i : i + args.batch], normalize=True).flatten()
                    for i in range(0, args.pairs, args.batch)
                ])
            synchronize()
            return values

        def run_iqa(y, autocast_dtype=None):
            values = torch.cat([
                iqa.lpips(outputs[i : i + args.batch], y[i : i + args.batch], net=args.net, weights=weights,
                          reduction="none", autocast_dtype=autocast_dtype)
                for i in range(0, args.pairs, args.batch)
            ])
            synchronize()
            return values

        print(f"LPIPS-{args.net}, {args.pairs} pairs of {args.size}x{args.size}, batch {args.batch}, "
              f"{args.threads} threads, {args.device}, {origin}, median of {args.repeats}")
        for label, y in [("distinct pairs", references), ("one reference, many outputs", one_reference)]:
            difference = float((run_package(y) - run_iqa(y)).abs().max())
            t_package, t_iqa = interleaved_medians([lambda y=y: run_package(y), lambda y=y: run_iqa(y)], args.repeats)
            print(f"  {label:<28} lpips {args.pairs / t_package:7.1f} pairs/s   iqa {args.pairs / t_iqa:7.1f} pairs/s"
                  f"   ratio {t_package / t_iqa:4.2f}x   max |diff| {difference:.2e}")
        if args.autocast:
            dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[args.autocast]
            exact = run_iqa(references)
            reduced = run_iqa(references, dtype)
            t_exact, t_reduced = interleaved_medians([lambda: run_iqa(references),
                                                      lambda: run_iqa(references, dtype)], args.repeats)
            drift = (reduced - exact).abs()
            print(f"  autocast {args.autocast}: {t_exact / t_reduced:4.2f}x float32 iqa; drift max {drift.max():.2e}, "
                  f"mean {drift.mean():.2e} (values {exact.min():.3f}..{exact.max():.3f})")


if __name__ == "__main__":
    main()
