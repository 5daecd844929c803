"""Validation table of SR models on held-out images: Y-PSNR, Y-SSIM (crop = scale), NIQE when iqa.niqe exists.

    python benchmarks/sr_zoo_validation.py                      # bicubic-x4 and every bundled x4 model
    python benchmarks/sr_zoo_validation.py --data /path/to/DIV2K runs/my-run
"""
from __future__ import annotations

import argparse

import torch

import iqa.models as zoo
from iqa.data.div2k import open_pairs
from iqa.train.validation import niqe_function, score_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="zoo names or checkpoint paths (default: all x4 models)")
    parser.add_argument("--data", default=None, help="DIV2K root (DIV2K_valid_HR); default: the embedded validation images")
    parser.add_argument("--scale", type=int, default=4)
    args = parser.parse_args()
    names = args.models or [n for n in zoo.list_models() if zoo.card(n).get("scale") == args.scale]
    pairs = open_pairs(args.data, "valid", args.scale)
    if niqe_function() is None:
        print("(NIQE not shown: iqa.niqe is not available in this install)")
    print(f"{'model':<22} {'Y-PSNR':>7} {'Y-SSIM':>7} {'NIQE':>6}   ({len(pairs)} images: {', '.join(pairs.names)})")
    for name in names:
        with torch.inference_mode():
            scores = score_model(zoo.load(name), pairs, args.scale, "cpu")
        niqe = f"{scores['niqe']:6.3f}" if "niqe" in scores else f"{'-':>6}"
        print(f"{name:<22} {scores['psnr_y']:7.3f} {scores['ssim_y']:7.4f} {niqe}")


if __name__ == "__main__":
    main()
