"""`/ws/evaluations/<id>/`: a staff evaluation's progress, for the progress bar of its page.

Each message is a complete snapshot (puzzles/messages.py, `evaluation_message`), so nothing has to be
replayed in order: the socket gets the saved state on connect, then the worker's snapshots as they come,
and reads the database itself when it has heard nothing for TRM_STREAM_RECHECK_SECONDS (a lost publish,
a worker that died). It closes after sending a finished state. Staff only: 4403 otherwise.
"""

import asyncio
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from puzzles.messages import evaluation_message
from puzzles.models import Evaluation
from puzzles.services.publishing import evaluation_group

logger = logging.getLogger(__name__)

CLOSE_NOT_STAFF = 4403
CLOSE_NOT_FOUND = 4404


@database_sync_to_async
def _saved_message(evaluation_id) -> dict | None:
    evaluation = Evaluation.objects.filter(id=evaluation_id).first()
    return None if evaluation is None else evaluation_message(evaluation)


class EvaluationProgressConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.evaluation_id = self.scope["url_route"]["kwargs"]["evaluation_id"]
        self.group = evaluation_group(self.evaluation_id)
        self.rechecking: asyncio.Task | None = None
        self.finished = False
        user = self.scope.get("user")
        await self.accept()
        if not (user and user.is_active and user.is_staff):
            await self.send_json({"type": "error", "code": CLOSE_NOT_STAFF, "error": "evaluations are for staff: log in"})
            await self.close(code=CLOSE_NOT_STAFF)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)  # before reading: nothing falls between
        saved = await _saved_message(self.evaluation_id)
        if saved is None:
            await self.send_json({"type": "error", "code": CLOSE_NOT_FOUND, "error": "no such evaluation"})
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self._send_state(saved)
        if not self.finished:
            self.rechecking = asyncio.create_task(self._recheck_forever())

    async def _send_state(self, message: dict) -> None:
        if self.finished:
            return
        await self.send_json(message)
        if message["status"] in Evaluation.FINISHED:
            self.finished = True
            await self.close()

    async def evaluation_progress(self, event):
        await self._send_state(event["payload"])

    async def _recheck_forever(self) -> None:
        while not self.finished:
            await asyncio.sleep(settings.TRM_STREAM_RECHECK_SECONDS)
            saved = await _saved_message(self.evaluation_id)
            if saved is not None:
                await self._send_state(saved)

    async def disconnect(self, code):
        self.finished = True
        if self.rechecking is not None:
            self.rechecking.cancel()
        try:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        except Exception:  # Redis gone: the group entry expires on its own
            logger.debug("could not leave %s", self.group, exc_info=True)

    async def receive_json(self, content, **kwargs):
        """Clients have nothing to say here."""
