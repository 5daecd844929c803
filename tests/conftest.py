import numpy as np
import pytest
import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


def photo(name: str = "astronaut", size: int | None = 128) -> np.ndarray:
    """A real photograph from scikit-image (uint8, H x W x 3), center-cropped to ``size``."""
    import skimage.data

    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if size is not None:
        top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
        image = image[top : top + size, left : left + size]
    return np.ascontiguousarray(image[..., :3])


def noisy(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).round().astype(np.uint8)


def to_tensor(image: np.ndarray, dtype=torch.float32) -> torch.Tensor:
    """(H, W[, C]) uint8 -> (1, C, H, W) in [0, 1]."""
    if image.ndim == 2:
        image = image[..., None]
    return torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].to(dtype) / 255
