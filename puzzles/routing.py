from django.urls import path

from puzzles.consumers import JobStreamConsumer
from puzzles.evaluation_consumer import EvaluationProgressConsumer

websocket_urlpatterns = [
    path("ws/jobs/<uuid:job_id>/", JobStreamConsumer.as_asgi()),
    path("ws/evaluations/<uuid:evaluation_id>/", EvaluationProgressConsumer.as_asgi()),
]
