"""The Celery app, so that `celery -A trmweb worker` starts a solver worker.

Queues are named for the device that runs the model: a worker started without `-Q` consumes `gpu` when
PyTorch sees a CUDA device (or TRM_DEVICE=cuda) and `cpu` otherwise, so GPU and CPU workers can share one
broker and the web side routes jobs with TRM_SOLVE_QUEUE.
"""

import os

from celery import Celery
from celery.signals import celeryd_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trmweb.settings")

app = Celery("trmweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def device_queue_name() -> str:
    """The queue this process should consume: its device's name."""
    device = os.environ.get("TRM_DEVICE", "").strip().lower()
    if device in ("cpu", "gpu"):
        return device
    if device == "cuda":
        return "gpu"
    import torch  # only workers pay for this import

    return "gpu" if torch.cuda.is_available() else "cpu"


@celeryd_init.connect
def consume_device_queue(sender=None, conf=None, options=None, **kwargs) -> None:
    # Runs before the worker builds its queue list; without -Q that list is just the default queue.
    if not (options or {}).get("queues"):
        conf.task_default_queue = device_queue_name()
