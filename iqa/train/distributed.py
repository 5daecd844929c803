"""torch.distributed set-up for ``torchrun``: gloo on CPU, NCCL on GPU; single-process otherwise."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from ..device import resolve_device
import torch.distributed as dist
from torch import nn


@dataclass
class Dist:
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


def setup(device: str) -> Dist:
    """Join the process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1)."""
    chosen = resolve_device(device)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Dist(device=chosen)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if chosen.type == "cuda":
        chosen = torch.device("cuda", local_rank)
        torch.cuda.set_device(chosen)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo")
    return Dist(rank, world_size, chosen)


def teardown(state: Dist) -> None:
    if state.active and dist.is_initialized():
        dist.destroy_process_group()


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


def barrier(state: Dist) -> None:
    if state.active:
        dist.barrier()
