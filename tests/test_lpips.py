"""LPIPS against the lpips package (independent reference) given the same backbone weights, plus properties."""
from __future__ import annotations

import warnings

import pytest
import torch
from deep_weights import TORCHVISION_FILES, save_random_backbone

import iqa
from iqa.weights import WeightsNotFoundError, find_weights

lpips_package = pytest.importorskip("lpips")


@pytest.fixture(scope="module")
def torch_home(tmp_path_factory):
    """A TORCH_HOME holding random backbones under torchvision's names, as the lpips package finds them."""
    home = tmp_path_factory.mktemp("torch_home")
    for net in TORCHVISION_FILES:
        save_random_backbone(net, home)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCH_HOME", str(home))
        yield home


def backbone_file(torch_home, net):
    return torch_home / "hub" / "checkpoints" / TORCHVISION_FILES[net][0]


def images(n=3, size=(64, 72), seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, *size, generator=generator)
    y = (x + 0.2 * torch.randn(x.shape, generator=generator)).clamp(0, 1)
    return x, y


@pytest.mark.parametrize("net", ["alex", "vgg", "squeeze"])
def test_equals_lpips_package(torch_home, net):
    x, y = images()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchvision's `pretrained` deprecation inside lpips
        reference = lpips_package.LPIPS(net=net, pretrained=True, verbose=False)
    with torch.no_grad():
        expected = reference(x, y, normalize=True).flatten()
    actual = iqa.lpips(x, y, net=net, weights=backbone_file(torch_home, net), reduction="none")
    assert actual.shape == (3,)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=0)
    # The broadcast-reference path (features of y computed once) gives the same values.
    one = iqa.lpips(x, y[:1].expand_as(x), net=net, weights=backbone_file(torch_home, net), reduction="none")
    with torch.no_grad():
        expected_one = reference(x, y[:1].expand_as(x), normalize=True).flatten()
    torch.testing.assert_close(one, expected_one, atol=1e-5, rtol=0)


def test_properties(torch_home):
    weights = backbone_file(torch_home, "alex")
    x, y = images()
    assert torch.equal(iqa.lpips(x, x, weights=weights, reduction="none"), torch.zeros(3))
    torch.testing.assert_close(iqa.lpips(x, y, weights=weights), iqa.lpips(y, x, weights=weights), atol=1e-7, rtol=0)
    # More distortion, larger distance.
    noisier = (x + 0.4 * (y - x)).clamp(0, 1), (x + 1.0 * (y - x)).clamp(0, 1)
    near, far = (iqa.lpips(n, x, weights=weights) for n in noisier)
    assert 0 < near < far
    assert iqa.lpips(x.double(), y.double(), weights=weights).dtype == torch.float64
    # Reduced precision runs where autocast does (CPU bf16 here) and stays near float32.
    reduced = iqa.lpips(x, y, weights=weights, autocast_dtype=torch.bfloat16, reduction="none")
    assert reduced.dtype == torch.float32
    torch.testing.assert_close(reduced, iqa.lpips(x, y, weights=weights, reduction="none"), atol=5e-3, rtol=0)


def test_gradients_match_package(torch_home):
    weights = backbone_file(torch_home, "alex")
    x, y = images(n=2, size=(48, 48))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = lpips_package.LPIPS(net="alex", pretrained=True, verbose=False)
    ours = x.clone().requires_grad_(True)
    theirs = x.clone().requires_grad_(True)
    iqa.LPIPSLoss(weights=weights)(ours, y).backward()
    reference(theirs, y, normalize=True).mean().backward()
    assert torch.isfinite(ours.grad).all() and ours.grad.abs().sum() > 0
    torch.testing.assert_close(ours.grad, theirs.grad, atol=1e-6, rtol=1e-3)


def test_data_range_and_crop(torch_home):
    weights = backbone_file(torch_home, "alex")
    x, y = images()
    torch.testing.assert_close(
        iqa.lpips(255 * x, 255 * y, data_range=255.0, weights=weights), iqa.lpips(x, y, weights=weights)
    )
    cropped = iqa.lpips(x, y, crop_border=4, weights=weights)
    torch.testing.assert_close(cropped, iqa.lpips(x[..., 4:-4, 4:-4], y[..., 4:-4, 4:-4], weights=weights))


def test_bad_inputs(torch_home):
    weights = backbone_file(torch_home, "alex")
    x, _ = images()
    with pytest.raises(ValueError, match=r"outside \[0, data_range"):
        iqa.lpips(2 * x - 1, x, weights=weights)  # the classic [-1, 1] mistake
    with pytest.raises(ValueError, match="net must be one of"):
        iqa.lpips(x, x, net="resnet", weights=weights)
    with pytest.raises(ValueError, match="at least 31x31"):
        iqa.lpips(x[..., :30, :30], x[..., :30, :30], weights=weights)
    with pytest.raises(ValueError, match="RGB"):
        iqa.lpips(x[:, :1], x[:, :1], weights=weights)
    with pytest.raises(ValueError, match="not a torchvision state dict"):
        iqa.lpips(x, x, net="vgg", weights=weights)  # AlexNet weights for VGG


def test_cached_random_weights_are_refused(torch_home):
    """The cache copy fails its checksum, so iqa refuses it rather than computing with wrong weights."""
    x, y = images()
    with pytest.raises(WeightsNotFoundError) as error:
        iqa.lpips(x, y)
    message = str(error.value)
    assert "alexnet-owt-7be5be79.pth" in message and "checksum mismatch" in message
    assert "iqa weights import" in message


def test_missing_weights_message(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_home"))
    with pytest.raises(WeightsNotFoundError) as error:
        find_weights("vgg16", weights_dir=tmp_path / "mine")
    message = str(error.value)
    for expected in ("vgg16-397923af.pth", "397923af", str(tmp_path / "mine"), str(tmp_path / "empty_home"),
                     "iqa weights import", "not found"):
        assert expected in message
    assert iqa.get_metric("lpips").needs_weights and iqa.get_metric("lpips").kind == "FR"


def test_never_downloads(torch_home, monkeypatch):
    """Building the networks from scratch reaches no torch hub download path."""
    import importlib

    def refuse(*args, **kwargs):
        raise AssertionError("iqa tried to download weights")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    lpips_module = importlib.import_module("iqa.metrics.lpips")
    monkeypatch.setattr(lpips_module, "_models", {})
    x, y = images(n=1)
    for net in TORCHVISION_FILES:
        assert iqa.lpips(x, y, net=net, weights=backbone_file(torch_home, net)) > 0
