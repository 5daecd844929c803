"""torch.distributed set-up for ``torchrun``: gloo on CPU, NCCL on GPU; single-process otherwise.

One set-up for every command that runs under ``torchrun`` (``iqa train``, ``iqa bench``).
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from .device import resolve_device


@dataclass
class Dist:
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")
    owns_group: bool = False  # whether setup() created the process group (and teardown() should end it)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


def setup(device: str, timeout: datetime.timedelta | None = None) -> Dist:
    """Join the process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1).

    ``device``: as :func:`iqa.device.resolve_device`, which maps ``cuda`` to
    ``cuda:LOCAL_RANK``. ``timeout``: how long collectives wait (torch's default when None).
    """
    chosen = resolve_device(device)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Dist(device=chosen)
    if chosen.type == "cuda":
        torch.cuda.set_device(chosen)
    owns_group = not dist.is_initialized()
    if owns_group:
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo", timeout=timeout)
    return Dist(dist.get_rank(), dist.get_world_size(), chosen, owns_group)


def teardown(state: Dist) -> None:
    if state.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def barrier(state: Dist) -> None:
    if state.active:
        dist.barrier()
