"""LPIPS, the learned perceptual image patch similarity (v0.1).

R. Zhang, P. Isola, A. A. Efros, E. Shechtman, O. Wang, "The unreasonable
effectiveness of deep features as a perceptual metric", CVPR 2018,
doi:10.1109/CVPR.2018.00068.

Built on the ``lpips`` package: its backbone slicing (``lpips.pretrained_networks``)
and its v0.1 linear layers, which ship inside it. The ImageNet backbone weights
do not ship; :mod:`iqa.weights` finds them (torch hub cache or a folder you
name) and they are loaded here with ``weights_only=True``, so no code path of
torchvision or lpips that downloads is ever reached.

Inputs are in ``[0, data_range]`` (default ``[0, 1]``), like every metric here;
the ``lpips`` package's own default expects ``[-1, 1]`` and silently gives wrong
values on ``[0, 1]`` images (its ``normalize=True`` is what matches this function).
Checked against ``lpips.LPIPS(net=..., pretrained=True)(x, y, normalize=True)``
to 1e-5 (tests/test_lpips.py).

Faster than the package at equal values: inference runs without autograd and in
channels-last memory order (the package's max-pools cost 7x more in NCHW), the
norms are fused one-pass reductions and the squares in place, the reference
features are computed once when the reference is one image broadcast over the
batch (``y = ref.expand_as(x)``), and the networks are built once per process.
"""
from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from ._color import crop
from ._validate import check_choice, check_pair, reduce

# net -> (weights key in iqa.weights, name of the lpips.pretrained_networks class)
NETS = {"alex": ("alexnet", "alexnet"), "vgg": ("vgg16", "vgg16"), "squeeze": ("squeezenet1_1", "squeezenet")}
# The smallest side the backbone's pooling stages accept (AlexNet's stride-4 stem needs 31 pixels).
MIN_SIZE = {"alex": 31, "vgg": 16, "squeeze": 24}

# lpips.ScalingLayer: the ImageNet statistics of [-1, 1] inputs.
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
_NORM_EPS = 1e-10  # lpips.normalize_tensor


def lpips(
    x: Tensor,
    y: Tensor,
    *,
    net: str = "alex",
    weights: str | os.PathLike | None = None,
    data_range: float = 1.0,
    crop_border: int = 0,
    autocast_dtype: torch.dtype | None = None,
    reduction: str = "mean",
) -> Tensor:
    """LPIPS distance of ``(N, 3, H, W)`` images in ``[0, data_range]``; 0 for identical images, lower is better.

    Args:
        x: output images ``(N, 3, H, W)`` in ``[0, data_range]``, NOT ``[-1, 1]``.
        y: reference images, same shape. ``ref.expand_as(x)`` (a stride-0 batch)
            compares every output with one reference and computes its features once.
        net: backbone, ``"alex"`` (the paper's recommended metric), ``"vgg"`` or ``"squeeze"``.
        weights: the backbone's torchvision ``.pth`` file (used as given) or a
            folder to search before the torch hub cache (checksum verified).
            ``None`` searches the torch hub cache only.
        autocast_dtype: run the backbone under ``torch.autocast`` with this
            dtype (``torch.bfloat16`` or ``torch.float16``, meant for GPUs; it
            moves values by about 1e-4 on CPU bf16, GPU drift not measured yet);
            ``None`` (default) keeps the input's precision.

    Differentiable with respect to both inputs (the networks are frozen).

    Example:
        >>> import torch, iqa
        >>> x = torch.rand(2, 3, 64, 64)
        >>> iqa.lpips(x, x, reduction="none")  # doctest: +SKIP  (needs the AlexNet weights)
        tensor([0., 0.])
    """
    check_choice("net", net, tuple(NETS))
    check_pair(x, y, data_range)
    x, y = crop(x, crop_border), crop(y, crop_border)
    if min(x.shape[-2:]) < MIN_SIZE[net]:
        raise ValueError(
            f"lpips(net={net!r}) needs images of at least {MIN_SIZE[net]}x{MIN_SIZE[net]} pixels after "
            f"cropping, got {x.shape[-2]}x{x.shape[-1]}"
        )
    if x.shape[1] != 3:
        raise ValueError(f"lpips needs RGB images (N, 3, H, W), got {tuple(x.shape)}")
    model = _model(net, weights, x.device, x.dtype)
    track_grad = torch.is_grad_enabled() and (x.requires_grad or y.requires_grad)
    with torch.set_grad_enabled(track_grad):
        features_x, features_y = _features(model, x, y, data_range, autocast_dtype)
        distance = model.distance(features_x, features_y)
    return reduce(distance.to(x.dtype), reduction)


def _features(
    model: LPIPSNetwork, x: Tensor, y: Tensor, data_range: float, autocast_dtype: torch.dtype | None
) -> tuple[list[Tensor], list[Tensor]]:
    """Features of x and y; y's only once when its batch is one image broadcast (stride 0).

    x and y run as two batches: one concatenated batch measured 15% slower at 512x512 (cache misses).
    """
    if y.shape[0] > 1 and y.stride(0) == 0:
        # The reference's features broadcast against the batch of x.
        return model.features(x, data_range, autocast_dtype), model.features(y[:1], data_range, autocast_dtype)
    return model.features(x, data_range, autocast_dtype), model.features(y, data_range, autocast_dtype)


class LPIPSNetwork(nn.Module):
    """The lpips package's backbone slices and v0.1 linear weights, with a faster forward."""

    def __init__(self, net: str, backbone_state: dict[str, Tensor], source: str):
        super().__init__()
        networks = _lpips_networks()

        with warnings.catch_warnings(), torch.device("meta"):
            # lpips passes torchvision's deprecated `pretrained=False`; False means "no download".
            # On the meta device the network costs nothing until the real weights are assigned.
            warnings.simplefilter("ignore")
            self.backbone = getattr(networks, NETS[net][1])(requires_grad=False, pretrained=False)
        self.backbone.load_state_dict(_lpips_keys(self.backbone, backbone_state, source), assign=True)
        self.backbone.eval()
        for index, weight in enumerate(_linear_weights(net)):
            self.register_buffer(f"linear{index}", weight.flatten())
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1))
        self.to(memory_format=torch.channels_last)

    def features(self, images: Tensor, data_range: float, autocast_dtype: torch.dtype | None = None
                 ) -> list[Tensor]:
        """Unit-normalized backbone activations ``(N, H, W, C)`` of images in ``[0, data_range]``.

        Only the backbone runs under autocast; norms and distances stay in the input's precision.
        """
        scaled = ((images * (2.0 / data_range) - 1) - self.shift) / self.scale
        scaled = scaled.contiguous(memory_format=torch.channels_last)
        if autocast_dtype is None:
            activations = self.backbone(scaled)
        else:
            with torch.autocast(images.device.type, dtype=autocast_dtype):
                activations = self.backbone(scaled)
        normalized = []
        for activation in activations:
            pixels = activation.to(images.dtype).permute(0, 2, 3, 1)  # (N, H, W, C) view of channels-last memory
            # lpips.normalize_tensor, with the fused one-pass norm.
            norm = torch.linalg.vector_norm(pixels, dim=-1, keepdim=True)
            normalized.append(pixels / (norm + _NORM_EPS))
        return normalized

    def distance(self, features_x: list[Tensor], features_y: list[Tensor]) -> Tensor:
        """Sum over layers of the spatial mean of ``sum_c w_c (a_c - b_c)^2`` of normalized features, ``(N,)``."""
        total = 0
        for index, (fx, fy) in enumerate(zip(features_x, features_y)):
            difference = fx - fy  # a broadcast reference (batch 1) broadcasts here
            # Squaring in place saves a full-size allocation; autograd needs the out-of-place op.
            squared = difference.square() if difference.requires_grad else difference.square_()
            # The channel sum is a contiguous matrix-vector product in channels-last memory.
            total = total + (squared @ getattr(self, f"linear{index}")).mean(dim=(1, 2))
        return total


def _lpips_keys(backbone: nn.Module, torchvision_state: dict[str, Tensor], source: str) -> dict[str, Tensor]:
    """Rename torchvision's ``features.<i>.*`` to the lpips slices' ``slice<k>.<i>.*``; fail on missing keys."""
    state, missing = {}, []
    for key in backbone.state_dict():
        _, rest = key.split(".", 1)  # "slice2.3.weight" -> "3.weight"
        tv_key = f"features.{rest}"
        if tv_key in torchvision_state:
            state[key] = torchvision_state[tv_key]
        else:
            missing.append(tv_key)
    if missing:
        raise ValueError(
            f"{source} is not a torchvision state dict of this backbone: missing {', '.join(missing[:4])}"
            + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        )
    return state


def _lpips_networks():
    """``lpips.pretrained_networks``, imported at first use (it imports torchvision)."""
    try:
        import lpips.pretrained_networks as networks
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            "iqa.lpips builds on the lpips package (its networks and v0.1 linear layers): "
            "pip install 'iqa[deep]' or pip install lpips"
        ) from error
    return networks


def _linear_weights(net: str) -> list[Tensor]:
    """The v0.1 linear layers shipped in the lpips package, ``lin<k>.model.1.weight`` of shape (1, C, 1, 1)."""
    import lpips

    path = Path(lpips.__file__).parent / "weights" / "v0.1" / f"{net}.pth"
    state = torch.load(path, map_location="cpu", weights_only=True)
    count = sum(1 for key in state if key.startswith("lin"))
    return [state[f"lin{index}.model.1.weight"] for index in range(count)]


_models: dict[tuple, LPIPSNetwork] = {}
_models_lock = threading.Lock()


def _model(net: str, weights: str | os.PathLike | None, device: torch.device, dtype: torch.dtype) -> LPIPSNetwork:
    """The network for ``net`` on ``device``/``dtype``, built once per process and weights file."""
    from ..weights import load_state_dict, resolve_weights

    path = resolve_weights(NETS[net][0], weights)
    cache_key = (net, str(path.resolve()), str(device), dtype)
    with _models_lock:
        if cache_key not in _models:
            cpu_key = (net, str(path.resolve()), "cpu", torch.float32)
            if cpu_key not in _models:
                _models[cpu_key] = LPIPSNetwork(net, load_state_dict(path), str(path))
            if cache_key != cpu_key:
                _models[cache_key] = _copy_to(_models[cpu_key], device, dtype)
        return _models[cache_key]


def _copy_to(model: LPIPSNetwork, device: torch.device, dtype: torch.dtype) -> LPIPSNetwork:
    import copy

    return copy.deepcopy(model).to(device=device, dtype=dtype, memory_format=torch.channels_last)
