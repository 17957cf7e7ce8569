"""The Celery app, so that `celery -A trmweb worker` starts a solver worker.

Queues are named for the device that runs the model: a worker started without `-Q` consumes `gpu` when
PyTorch sees a CUDA device (or TRM_DEVICE=cuda) and `cpu` otherwise, so GPU and CPU workers can share one
broker and the web side routes jobs with TRM_SOLVE_QUEUE.
"""

import os

from celery import Celery
from celery.signals import celeryd_init
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trmweb.settings")

app = Celery("trmweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def device_queue_name() -> str:
    """The queue this process should consume: its device's name."""
    if settings.TRM_DEVICE != "auto":
        return settings.TRM_DEVICE
    import torch  # only workers pay for this import

    # Asked in the worker's parent, before the prefork pool forks. torch.cuda.is_available() would call
    # cudaGetDeviceCount, which initialises the CUDA driver here, and PyTorch then refuses CUDA in every
    # forked child ("Cannot re-initialize CUDA in forked subprocess"). device_count() counts through NVML
    # while CUDA is uninitialised, which leaves the driver alone (PyTorch's note on poisoned forks).
    return "gpu" if torch.cuda.device_count() > 0 else "cpu"


@celeryd_init.connect
def consume_device_queue(sender=None, conf=None, options=None, **kwargs) -> None:
    # Runs before the worker builds its queue list; without -Q that list is just the default queue.
    if not (options or {}).get("queues"):
        conf.task_default_queue = device_queue_name()
