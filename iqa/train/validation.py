"""Validation scores of an SR model with the toolkit's own metrics (SR convention: Y channel, crop = scale)."""
from __future__ import annotations

import torch
from torch import nn

from ..data.div2k import ImagePairs
from ..metrics import niqe, psnr, ssim


# NIQE fits its statistics on 96x96 blocks; smaller images are left out of its mean.
NIQE_MIN_SIZE = 96


@torch.no_grad()
def score_model(model: nn.Module, pairs: ImagePairs, scale: int, device) -> dict[str, float]:
    """Mean Y-PSNR, Y-SSIM (crop_border=scale) and NIQE (of images >= 96 px after cropping) over ``pairs``."""
    was_training = model.training
    model.eval()
    totals: dict[str, list[float]] = {}
    for index in range(len(pairs)):
        hr, lr = pairs[index]
        hr = hr[None].float().div(255).to(device)
        sr = model(lr[None].float().div(255).to(device)).clamp(0, 1)
        scores = {
            "psnr_y": float(psnr(sr, hr, color="y", crop_border=scale)),
            "ssim_y": float(ssim(sr, hr, color="y", crop_border=scale)),
        }
        if min(sr.shape[-2:]) - 2 * scale >= NIQE_MIN_SIZE:
            scores["niqe"] = float(niqe(sr, color="y", crop_border=scale))
        for key, value in scores.items():
            totals.setdefault(key, []).append(value)
    model.train(was_training)
    return {key: sum(values) / len(values) for key, values in totals.items()}
