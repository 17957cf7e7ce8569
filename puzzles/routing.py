from django.urls import path

from puzzles.consumers import JobStreamConsumer

websocket_urlpatterns = [
    path("ws/jobs/<uuid:job_id>/", JobStreamConsumer.as_asgi()),
]
