"""Turning a device name from a command line or a config into a torch device, with one set of messages."""

import torch


class DeviceError(ValueError):
    """A device name that is not a torch device, or a GPU that is not here."""


def device_named(name: str) -> torch.device:
    """The torch device `name` means: "auto" is a GPU when one is here, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceError(f"{name!r} is not a torch device; use auto, cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"{name}: no CUDA GPU is available here; use cpu")
    return device
