"""iqa.imresize against pyiqa's independent MATLAB-imresize port (pyiqa.matlab_utils.imresize)."""
import pytest
import torch

from iqa import imresize

matlab_utils = pytest.importorskip("pyiqa.matlab_utils")


@pytest.mark.parametrize("size", [(37, 53), (64, 48), (31, 31), (17, 90)])
@pytest.mark.parametrize("scale", [1 / 4, 1 / 3, 1 / 2, 0.7, 1.5, 2, 3, 4])
def test_imresize_matches_pyiqa(size, scale):
    x = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(sum(size)), dtype=torch.float64)
    ours = imresize(x, scale)
    reference = matlab_utils.imresize(x, scale=scale)
    assert ours.shape == reference.shape
    torch.testing.assert_close(ours, reference.to(ours.dtype), rtol=0, atol=1e-5)


def test_imresize_float32_matches_pyiqa_at_sr_scales():
    x = torch.rand(1, 3, 45, 61, generator=torch.Generator().manual_seed(1))
    for scale in (1 / 2, 1 / 3, 1 / 4):
        torch.testing.assert_close(imresize(x, scale), matlab_utils.imresize(x, scale=scale), rtol=0, atol=1e-5)
