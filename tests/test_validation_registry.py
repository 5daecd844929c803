"""Clear errors for bad input, and the registry."""
import pytest
import torch

import iqa
from iqa.metrics.registry import METRICS, get_metric

FR = [iqa.psnr, iqa.ssim, iqa.gmsd]


@pytest.mark.parametrize("metric", FR)
def test_shape_mismatch_names_both_shapes(metric):
    with pytest.raises(ValueError, match=r"\(1, 3, 32, 32\) and \(1, 3, 32, 31\)"):
        metric(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 31))


@pytest.mark.parametrize("metric", FR)
def test_nan_inf_and_range_are_rejected(metric):
    good = torch.rand(1, 3, 32, 32)
    bad = good.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"x(\[0\])? contains NaN"):
        metric(bad, good)
    bad[0, 0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"y(\[0\])? contains inf"):
        metric(good, bad)
    with pytest.raises(ValueError, match=r"x(\[0\])? has values .* outside \[0, data_range=1\].*\(x \+ 1\) / 2"):
        metric(good * 2 - 1, good)


def test_type_errors():
    with pytest.raises(TypeError, match="floating-point"):
        iqa.psnr(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        iqa.psnr([[0.0]], torch.zeros(1, 1, 1, 1))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        iqa.psnr(torch.rand(3, 8, 8), torch.rand(3, 8, 8))


def test_option_errors_name_the_option():
    x = torch.rand(1, 3, 32, 32)
    with pytest.raises(ValueError, match="color must be one of"):
        iqa.ssim(x, x, color="lab")
    with pytest.raises(ValueError, match="reduction must be"):
        iqa.psnr(x, x, reduction="sum")
    with pytest.raises(ValueError, match="crop_border=16 leaves nothing"):
        iqa.psnr(x, x, crop_border=16)
    with pytest.raises(ValueError, match="needs 1 or 3 channels"):
        iqa.ssim(torch.rand(1, 4, 32, 32), torch.rand(1, 4, 32, 32))


def test_registry_rows_are_complete_and_loadable():
    for name, spec in METRICS.items():
        assert spec.kind in ("FR", "NR", "RR", "DIST")
        assert spec.value_range[0] < spec.value_range[1]
        assert spec.load() is getattr(iqa, name), name
        assert spec.convention


@pytest.mark.parametrize("name", [n for n, s in METRICS.items() if s.kind in ("FR", "NR") and not s.needs_weights])
def test_registry_direction_agrees_with_the_metric(name):
    """A clean photo must score better than a noisy copy in the direction the registry states."""
    from conftest import noisy, photo, to_tensor

    spec = METRICS[name]
    clean = photo("astronaut", 192)
    reference, degraded = to_tensor(clean), to_tensor(noisy(clean, 25))
    function = spec.load()
    if spec.kind == "FR":
        good, bad = function(to_tensor(noisy(clean, 3)), reference), function(degraded, reference)
    else:
        good, bad = function(reference), function(degraded)
    assert bool(good > bad) == spec.higher_is_better, (name, float(good), float(bad))


def test_unknown_metric_suggests_a_close_name():
    with pytest.raises(KeyError, match="did you mean 'ssim'"):
        get_metric("ssmi")


def test_list_metrics_filters():
    assert "ssim" in iqa.list_metrics(kind="FR")
    assert iqa.list_metrics(pattern="*ssim") == ["ms_ssim", "ssim"]
    with pytest.raises(ValueError):
        iqa.list_metrics(kind="XX")
