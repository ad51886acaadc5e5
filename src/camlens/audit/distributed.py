"""torch.distributed for the audit: join the group torchrun describes, share rank 0's decisions.

Under ``torchrun`` the environment holds ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the
rendezvous; :func:`setup` then calls ``init_process_group`` (gloo on CPU, NCCL on GPU). Without
them the audit runs as a world of one and never touches torch.distributed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist


@dataclass
class World:
    """This process's place: ``rank`` of ``size``; ``owns_group`` when :func:`setup` made it."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    owns_group: bool = False
    device: torch.device | None = None

    @property
    def active(self) -> bool:
        return self.size > 1

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank (``broadcast_object_list``)."""
        if not self.active:
            return value
        box = [value if self.rank == 0 else None]
        dist.broadcast_object_list(box, src=0, device=self._comm_device())
        return box[0]

    def barrier(self) -> None:
        if not self.active:
            return
        if dist.get_backend() == "nccl":
            dist.barrier(device_ids=[self.local_rank])
        else:
            dist.barrier()

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()

    def _comm_device(self) -> torch.device | None:
        return torch.device("cuda", self.local_rank) if dist.get_backend() == "nccl" else None


def launched_world_size() -> int:
    """The number of processes torchrun launched (``WORLD_SIZE``; 1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def local_device(device: torch.device) -> torch.device:
    """Under torchrun each process takes GPU ``LOCAL_RANK`` when ``device`` is a bare ``cuda``."""
    if device.type == "cuda" and device.index is None and launched_world_size() > 1:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def setup(device: torch.device, timeout_hours: float = 12.0) -> World:
    """Join (or reuse) the process group torchrun set up; a world of one otherwise."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    size = launched_world_size()
    if size <= 1:
        return World()
    backend = "nccl" if device.type == "cuda" else "gloo"
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend, timeout=timedelta(hours=timeout_hours))
    return World(dist.get_rank(), dist.get_world_size(), local_rank, owns_group=True)
