"""DIV2K layout, LR selection and random aligned patches, on a miniature DIV2K written by the test."""
import pytest
import torch
from _sr_helpers import write_mini_div2k

from iqa.data import RandomPatches, div2k_pairs, make_lr, open_pairs, read_rgb_u8

matlab_utils = pytest.importorskip("pyiqa.matlab_utils")


def test_provided_lr_is_used(tmp_path):
    root = write_mini_div2k(tmp_path, scale=4, with_lr=True)
    pairs = div2k_pairs(root, "train", 4)
    assert pairs.names == ["0001.png", "0002.png", "0003.png"]
    hr, lr = pairs[0]
    assert hr.shape == (3, 56, 72) and lr.shape == (3, 14, 18)
    assert torch.equal(lr, read_rgb_u8(root / "DIV2K_train_LR_bicubic/X4/0001x4.png"))
    assert torch.equal(lr, hr[:, ::4, ::4])  # the test's subsampled LR, not a bicubic one
    assert div2k_pairs(root, "valid", 4).names == ["0801.png", "0802.png"]


def test_missing_lr_is_made_with_matlab_bicubic(tmp_path):
    root = write_mini_div2k(tmp_path, scale=3, with_lr=False, size=(50, 61))
    hr, lr = div2k_pairs(root, "train", 3)[1]
    assert hr.shape == (3, 48, 60)  # cropped to a multiple of the scale
    reference = matlab_utils.imresize(hr[None].double() / 255, scale=1 / 3)[0]
    expected = (reference * 255).round().clamp(0, 255).to(torch.uint8)
    # Rounding may flip where the two float results straddle .5; allow one level on a handful of pixels.
    difference = (lr.int() - expected.int()).abs()
    assert difference.max() <= 1 and (difference > 0).float().mean() < 0.01
    assert torch.equal(lr, make_lr(hr, 3))


def test_layout_errors_name_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="DIV2K_train_HR"):
        div2k_pairs(tmp_path, "train", 4)


def test_patches_are_aligned_and_augmented(tmp_path):
    # HR made of constant 4x4 blocks: the aligned LR is HR[::4, ::4] under every flip and rotation.
    root = write_mini_div2k(tmp_path, scale=4, with_lr=True)
    pairs = div2k_pairs(root, "train", 4)
    pairs.hr_sources = [lr.repeat_interleave(4, 1).repeat_interleave(4, 2) for lr in (read_rgb_u8(p) for p in pairs.lr_sources)]
    pairs.lr_sources = [read_rgb_u8(p) for p in pairs.lr_sources]
    patches = RandomPatches(pairs, patch_size=32, length=64, seed=3)
    seen = set()
    for item in range(64):
        lr, hr = patches[item]
        assert lr.shape == (3, 8, 8) and hr.shape == (3, 32, 32)
        assert torch.equal(lr, hr[:, ::4, ::4])
        seen.add(lr.flatten()[:4].tolist().__str__())
    assert len(seen) > 32  # random positions, images and orientations
    first, again = patches[5], patches[5]
    assert all(torch.equal(a, b) for a, b in zip(first, again))  # an item is a function of (seed, index)


def test_patch_size_must_fit_the_scale(tmp_path):
    pairs = div2k_pairs(write_mini_div2k(tmp_path), "train", 4)
    with pytest.raises(ValueError, match="multiple of the scale"):
        RandomPatches(pairs, patch_size=30, length=1)


def test_embedded_sample_set_is_the_default():
    pairs = open_pairs(None, "valid", 4)
    assert pairs.names == ["astronaut", "coffee", "chelsea"]
    hr, lr = pairs[0]
    assert hr.shape == (3, 512, 512) and lr.shape == (3, 128, 128)
