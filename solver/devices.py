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


# The dtype a model computes in (`--dtype`, TRM_CPU_DTYPE): fp32 reproduces the reference's answers bit for
# bit on fp32 inputs; bf16 is what the published checkpoints were trained and evaluated in, and on a CPU
# with native bf16 matrix units it is several times faster (bench/README.md, "bf16 on this CPU").
COMPUTE_DTYPES = ("float32", "bfloat16", "checkpoint", "auto")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (AVX512-BF16 or AMX-BF16), read from the
    kernel's CPU flags. Elsewhere (another OS, an older CPU) bf16 is emulated and slower than fp32."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def compute_dtype(choice: str, *, device: torch.device, trained: str) -> torch.dtype:
    """The dtype to compute in on `device` for a checkpoint trained in `trained` ("float32", "bfloat16", ...).

    float32 / bfloat16: that. checkpoint: the trained dtype. auto: on a GPU the trained dtype; on a CPU
    bf16 only when the checkpoint was trained in bf16 and the CPU has native bf16 matmul, else fp32.
    """
    if choice not in COMPUTE_DTYPES:
        raise DeviceError(f"dtype {choice!r} is not one of {', '.join(COMPUTE_DTYPES)}")
    if choice in ("float32", "bfloat16"):
        return getattr(torch, choice)
    trained_dtype = getattr(torch, trained)
    if choice == "checkpoint" or device.type != "cpu":
        return trained_dtype
    return torch.bfloat16 if trained_dtype == torch.bfloat16 and cpu_has_native_bf16() else torch.float32
