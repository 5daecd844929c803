"""Random stand-ins for the ImageNet/Inception weights, saved in their upstream formats.

They prove the computations equal the peer packages' given the same weights,
without a download. They fail the checksum on purpose: iqa must refuse them
from the cache and use them only when passed explicitly.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torchvision

TORCHVISION_FILES = {
    "alex": ("alexnet-owt-7be5be79.pth", torchvision.models.alexnet),
    "vgg": ("vgg16-397923af.pth", torchvision.models.vgg16),
    "squeeze": ("squeezenet1_1-b8a52dc0.pth", torchvision.models.squeezenet1_1),
}
FID_FILE = "pt_inception-2015-12-05-6726825d.pth"


def checkpoint_dir(torch_home: Path) -> Path:
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_random_backbone(net: str, torch_home: Path, seed: int = 0) -> Path:
    """torchvision's state dict of the backbone with random He-scaled weights; the
    unused classifier is stored as broadcast zeros so the file stays small."""
    filename, builder = TORCHVISION_FILES[net]
    with torch.device("meta"):  # shapes only: building VGG-16 for real takes seconds
        shapes = {key: value.shape for key, value in builder(weights=None).state_dict().items()}
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        if key.startswith("classifier") and net != "squeeze":
            state[key] = torch.zeros(1).expand(shape)
        elif key.endswith("weight"):
            fan_in = shape[1:].numel()
            state[key] = torch.randn(shape, generator=generator) * (2.0 / fan_in) ** 0.5
        else:
            state[key] = torch.randn(shape, generator=generator) * 0.01
    path = checkpoint_dir(torch_home) / filename
    torch.save(state, path)
    return path


def save_random_fid_inception(torch_home: Path, seed: int = 0) -> Path:
    """A state dict in the layout of pytorch-fid's ``fid_inception_v3()``, random weights and BN statistics."""
    from pytorch_fid import inception as pf

    torch.manual_seed(seed)
    network = torchvision.models.inception.Inception3(num_classes=1008, aux_logits=False, init_weights=False)
    for name, block, args in [
        ("Mixed_5b", pf.FIDInceptionA, (192, 32)), ("Mixed_5c", pf.FIDInceptionA, (256, 64)),
        ("Mixed_5d", pf.FIDInceptionA, (288, 64)), ("Mixed_6b", pf.FIDInceptionC, (768, 128)),
        ("Mixed_6c", pf.FIDInceptionC, (768, 160)), ("Mixed_6d", pf.FIDInceptionC, (768, 160)),
        ("Mixed_6e", pf.FIDInceptionC, (768, 192)), ("Mixed_7b", pf.FIDInceptionE_1, (1280,)),
        ("Mixed_7c", pf.FIDInceptionE_2, (2048,)),
    ]:
        setattr(network, name, block(*args))
    state = network.state_dict()
    with torch.no_grad():
        for key, value in state.items():
            if key.endswith("running_mean"):
                value.normal_(0, 0.1)
            elif key.endswith("running_var"):
                value.uniform_(0.5, 1.5)
    path = checkpoint_dir(torch_home) / FID_FILE
    torch.save(state, path)
    return path
