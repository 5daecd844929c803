"""PIQE against pyiqa's port of MATLAB's piqe.m, numpy padding, and its expected behaviour."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _pyiqa_oracle import pyiqa_float64  # noqa: F401  (fixture)

from iqa.data import load_sample
from iqa.metrics._color import convert_color
from iqa.metrics.piqe import piqe


@pytest.fixture(scope="module")
def photos():
    names = ("astronaut", "coffee", "camera", "rocket")
    return {name: torch.from_numpy(load_sample(name)).permute(2, 0, 1)[None].double() / 255 for name in names}


def pyiqa_piqe(gray: torch.Tensor) -> torch.Tensor:
    from pyiqa.archs.piqe_arch import piqe as reference

    return reference(gray)[0].flatten()


def test_matches_pyiqa(photos, pyiqa_float64):
    # pyiqa rescales by the image maximum and pads by the remainder instead of to whole blocks,
    # so it equals piqe.m only for images whose maximum is white and whose sides are multiples
    # of 16: these crops are.
    for name, (rows, cols) in {"astronaut": (320, 400), "coffee": (256, 384), "camera": (304, 512),
                               "rocket": (400, 640)}.items():
        gray = convert_color(photos[name], "gray")[..., :rows, :cols]
        assert float(gray.max()) == 1.0
        torch.testing.assert_close(piqe(gray, reduction="none"), pyiqa_piqe(gray), rtol=1e-10, atol=1e-9)


def test_pads_by_replication_to_whole_blocks(photos, pyiqa_float64):
    gray = convert_color(photos["astronaut"], "gray")[..., 5:300, 3:390]  # 295 x 387
    padded = np.pad(gray[0, 0].numpy(), ((0, 304 - 295), (0, 400 - 387)), mode="edge")
    expected = pyiqa_piqe(torch.from_numpy(padded)[None, None])
    torch.testing.assert_close(piqe(gray, reduction="none"), expected, rtol=1e-10, atol=1e-9)


def test_uniform_image_scores_100():
    assert float(piqe(torch.full((2, 3, 40, 50), 0.3))) == pytest.approx(100.0)


def test_grows_with_blur_and_with_noise_beyond_the_faintest(photos):
    from torchvision.transforms.functional import gaussian_blur

    x = photos["astronaut"][..., :256, :256]
    blurred = [x] + [gaussian_blur(x, 2 * round(3 * s) + 1, s) for s in (1.0, 2.0, 3.0)]
    assert torch.all(piqe(torch.cat(blurred), reduction="none").diff() > 0)
    # Faint noise (sigma 0.02) lowers PIQE below the clean image's: it breaks up the flat edge
    # segments that the noticeable-distortion criterion looks for. Beyond that it grows.
    generator = torch.Generator().manual_seed(0)
    noisy = [(x + s * torch.randn(x.shape, generator=generator, dtype=x.dtype)).clamp(0, 1) for s in (0.02, 0.05, 0.1)]
    assert torch.all(piqe(torch.cat(noisy), reduction="none").diff() > 0)


def test_batch_rgb_and_dtype(photos):
    crops = torch.cat([photos[name][..., :120, :150] for name in ("astronaut", "coffee", "camera")])
    batched = piqe(crops, reduction="none")
    torch.testing.assert_close(batched, torch.stack([piqe(c[None]) for c in crops]), rtol=1e-12, atol=0)
    per_channel = torch.stack([piqe(crops[:, [c]], reduction="none") for c in range(3)]).mean(0)
    torch.testing.assert_close(piqe(crops, color="rgb", reduction="none"), per_channel)
    assert piqe(crops.float()).dtype == torch.float32
    torch.testing.assert_close(piqe(crops, crop_border=4), piqe(crops[..., 4:-4, 4:-4]))


def test_errors():
    with pytest.raises(ValueError, match="color"):
        piqe(torch.rand(1, 3, 32, 32), color="hsv")
    with pytest.raises(ValueError, match="shape"):
        piqe(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="crop_border"):
        piqe(torch.rand(1, 3, 32, 32), crop_border=16)
