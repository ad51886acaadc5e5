"""The device a user names: ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or ``auto``."""

from __future__ import annotations

import torch

from ..errors import DeviceError


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` (or ``cuda:N``), ``mps`` or ``auto`` (cuda, then mps, then cpu).

    Raises :class:`DeviceError` for an unknown name or a device this machine does not have.
    """
    key = (name or "cpu").strip().lower()
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps is not None and mps.is_available())
    if key == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if has_mps else torch.device("cpu")
    try:
        device = torch.device(key)
    except (RuntimeError, ValueError):
        raise DeviceError(f"unknown device {name!r}; use cpu, cuda, cuda:N, mps or auto.") from None
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {name!r} asked for, but CUDA is not available here "
                "(no GPU, or a CPU-only torch); use --device cpu or auto."
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(
                f"device {name!r} asked for, but there are {torch.cuda.device_count()} CUDA "
                "devices."
            )
        return device
    if device.type == "mps":
        if not has_mps:
            raise DeviceError(
                f"device {name!r} asked for, but Apple's MPS is not available here; "
                "use --device cpu or auto."
            )
        return device
    raise DeviceError(f"unsupported device {name!r}; use cpu, cuda, cuda:N, mps or auto.")


__all__ = ["resolve_device"]
