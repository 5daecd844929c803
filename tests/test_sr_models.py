"""The model zoo: shapes, checkpoint round trips, safe loading, tiled upscaling and the bundled checkpoints."""
import json

import pytest
import torch

import iqa.models as zoo
from iqa import imresize
from iqa.models.tiling import upscale

TINY = {"srgan": {"channels": 8, "blocks": 2}, "stylegan-lite": {"channels": 16, "style_dim": 8}, "autoencoder": {"channels": 8}}


@pytest.mark.parametrize("architecture", sorted(TINY))
@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("size", [(9, 13), (16, 16)])
def test_generators_upscale_any_size(architecture, scale, size):
    torch.manual_seed(0)
    model = zoo.build(architecture, scale=scale, **TINY[architecture]).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, *size))
    assert out.shape == (2, 3, size[0] * scale, size[1] * scale)
    assert model.scale == scale and 0 <= float(out.min()) and float(out.max()) <= 1


def test_srgan_and_autoencoder_support_scale_3():
    for architecture in ("srgan", "autoencoder"):
        assert zoo.build(architecture, scale=3, **TINY[architecture]).eval()(torch.rand(1, 3, 7, 10)).shape == (1, 3, 21, 30)
    with pytest.raises(ValueError, match="power of 2"):
        zoo.build("stylegan-lite", scale=3)


def test_discriminator_gives_one_logit_per_image():
    assert zoo.Discriminator()(torch.rand(3, 3, 32, 48)).shape == (3,)


def test_stylegan_lite_eval_is_reproducible_and_training_is_noisy():
    torch.manual_seed(0)
    model = zoo.build("stylegan-lite", scale=4, **TINY["stylegan-lite"])
    for block in model.blocks:  # give the noise a visible strength
        torch.nn.init.constant_(block.noise1.strength, 0.5)
    x = torch.rand(1, 3, 8, 8)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))


@pytest.mark.parametrize("architecture", sorted(TINY))
def test_checkpoint_round_trip(tmp_path, architecture):
    torch.manual_seed(1)
    model = zoo.build(architecture, scale=4, **TINY[architecture]).eval()
    zoo.save_weights(model, tmp_path / "run" / "weights.safetensors")
    x = torch.rand(1, 3, 12, 12)
    for source in (tmp_path / "run", tmp_path / "run" / "weights.safetensors", str(tmp_path / "run")):
        loaded = zoo.load(source)
        assert not loaded.training and loaded.scale == 4
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_load_refuses_pickles_and_names_the_file(tmp_path):
    pickled = tmp_path / "model.pt"
    torch.save({"weight": torch.zeros(1)}, pickled)
    with pytest.raises(ValueError, match="model.pt"):
        zoo.load(pickled)
    with pytest.raises(KeyError, match="did you mean 'bicubic-x4'"):
        zoo.load("bicubic-x5")


def test_bicubic_model_is_imresize():
    x = torch.rand(1, 3, 10, 14)
    torch.testing.assert_close(zoo.load("bicubic-x3")(x), imresize(x, 3.0).clamp(0, 1))


@pytest.mark.parametrize("architecture", sorted(TINY))
def test_tiled_upscale_equals_whole_image(architecture):
    torch.manual_seed(2)
    model = zoo.build(architecture, scale=2, **TINY[architecture]).eval()
    lr = torch.rand(1, 3, 45, 70)
    whole = model(lr)
    tiled = upscale(model, lr, tile=16, overlap=16)
    torch.testing.assert_close(tiled, whole, rtol=0, atol=1e-5)


def test_tiling_rejects_unaligned_tiles():
    with pytest.raises(ValueError, match="multiples of 8"):
        upscale(zoo.load("bicubic-x2"), torch.rand(1, 3, 40, 40), tile=12)


BUNDLED = [name for name in zoo.list_models() if not name.startswith("bicubic")]


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_checkpoints(name):
    path = zoo.zoo_dir() / name
    assert (path / "weights.safetensors").stat().st_size <= 10 * 2**20
    card = json.loads((path / "card.json").read_text())
    assert "NOT trained on DIV2K" in card["training_data"] and "--data /path/to/DIV2K" in card["div2k_command"]
    model = zoo.load(name)
    assert model.scale == card["scale"] == 4
    assert card["params"] == sum(p.numel() for p in model.parameters())
    assert model(torch.rand(1, 3, 12, 16)).shape == (1, 3, 48, 64)


def test_models_command_lists_cards():
    from click.testing import CliRunner

    from iqa.cli import main

    result = CliRunner().invoke(main, ["models"])
    assert result.exit_code == 0 and "bicubic-x4" in result.output
    for name in BUNDLED:
        assert name in result.output
    cards = json.loads(CliRunner().invoke(main, ["models", "--format", "json"]).output)
    assert cards["bicubic-x2"]["scale"] == 2


def test_upscale_command(tmp_path):
    from click.testing import CliRunner
    from PIL import Image

    from iqa.cli import main

    source, target = tmp_path / "lr", tmp_path / "sr"
    source.mkdir()
    Image.fromarray((torch.rand(20, 30, 3) * 255).byte().numpy()).save(source / "a.png")
    (source / "broken.png").write_bytes(b"not a png")
    result = CliRunner().invoke(main, ["upscale", "--model", "bicubic-x3", "--device", "cpu", "--tile", "8", "--tile-overlap", "8", str(source), str(target)])
    assert result.exit_code == 1 and "broken.png" in result.output
    with Image.open(target / "a.png") as image:
        assert image.size == (90, 60)
    result = CliRunner().invoke(main, ["upscale", "--model", "bicubc-x3", str(source), str(target)])
    assert result.exit_code == 2 and "did you mean 'bicubic-x3'" in result.output


def center_crop(image: torch.Tensor, size: int) -> torch.Tensor:
    top, left = (image.shape[-2] - size) // 2, (image.shape[-1] - size) // 2
    return image[..., top : top + size, left : left + size]


@pytest.fixture(scope="module")
def held_out_scores():
    """Y-PSNR / NIQE (crop 4) of bicubic and each bundled x4 model on 256 px center crops of the held-out embedded images.

    The crops keep the test fast; the LR inputs are made from the crops, as for the whole images.
    """
    pytest.importorskip("skimage")
    from iqa.data import VALID_NAMES, load_sample
    from iqa.data.div2k import ImagePairs, make_lr
    from iqa.train.validation import score_model

    crops = [center_crop(torch.from_numpy(load_sample(name)).permute(2, 0, 1), 256) for name in VALID_NAMES]
    pairs = ImagePairs(4, list(VALID_NAMES), crops, [make_lr(hr, 4) for hr in crops])
    return {name: score_model(zoo.load(name), pairs, 4, "cpu") for name in ["bicubic-x4", *BUNDLED]}


@pytest.mark.skipif("autoencoder-x4" not in BUNDLED, reason="checkpoint not bundled")
def test_bundled_autoencoder_beats_bicubic_by_0_3_db(held_out_scores):
    assert held_out_scores["autoencoder-x4"]["psnr_y"] >= held_out_scores["bicubic-x4"]["psnr_y"] + 0.3


@pytest.mark.parametrize("name", [n for n in BUNDLED if n.startswith(("srgan", "stylegan"))])
def test_bundled_gan_models_beat_bicubic_on_niqe(held_out_scores, name):
    assert held_out_scores[name]["niqe"] < held_out_scores["bicubic-x4"]["niqe"]
