"""The Django project of the TRM Playground."""

from trmweb.celery import app as celery_app

__all__ = ("celery_app",)
