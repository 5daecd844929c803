"""Weights and gradients shared between ``torchrun`` ranks during training (set-up: :mod:`iqa.distributed`)."""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

# The process-group set-up is shared with iqa bench; these names stay importable from here.
from ..distributed import Dist, barrier, setup, teardown

__all__ = ["Dist", "average_gradients", "barrier", "broadcast_parameters", "setup", "teardown"]


def broadcast_parameters(module: nn.Module, state: Dist) -> None:
    """Start every rank from rank 0's weights."""
    if state.active:
        for tensor in module.state_dict().values():
            dist.broadcast(tensor, src=0)


def average_gradients(module: nn.Module, state: Dist) -> None:
    """All-reduce and average gradients, as DistributedDataParallel does after backward.

    Done explicitly rather than by wrapping in ``DistributedDataParallel``
    because the R1 penalty differentiates the discriminator twice
    (``autograd.grad(create_graph=True)``), which DDP's reducer does not support.
    """
    if not state.active:
        return
    gradients = [p.grad for p in module.parameters() if p.grad is not None]
    if not gradients:
        return
    flat = torch.cat([g.reshape(-1) for g in gradients])
    dist.all_reduce(flat)
    flat /= state.world_size
    offset = 0
    for g in gradients:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()
