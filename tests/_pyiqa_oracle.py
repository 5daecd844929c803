"""pyiqa as an offline oracle for NIQE and PIQE (shared by their tests).

pyiqa builds the 7x7 Gaussian window of the MSCN coefficients in float32
(``fspecial(...).float()``), which moves NIQE by up to ~1e-3 from MATLAB's
double computation; the tests swap in the same window in float64 so that they
can compare tightly. Nothing else of pyiqa is changed, and no download is
needed: the NIQE function takes the model's mean and covariance directly.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch


def _float64_fspecial(size, sigma, channels=1):
    center = (size - 1) / 2
    grid = np.arange(size) - center
    window = np.exp(-(grid[:, None] ** 2 + grid[None, :] ** 2) / (2 * sigma**2))
    return torch.from_numpy(window / window.sum()).repeat(channels, 1, 1, 1)


@pytest.fixture
def pyiqa_float64(monkeypatch):
    pytest.importorskip("pyiqa")
    import pyiqa.archs.func_util as func_util

    monkeypatch.setattr(func_util, "fspecial", _float64_fspecial)
    return func_util
