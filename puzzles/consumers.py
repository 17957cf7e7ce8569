"""`/ws/jobs/<id>/`: a job's steps, saved ones first, then live ones, each exactly once and in order.

The consumer joins the job's group before reading the saved rows, so a step published during the replay
is either in the rows or arrives live; step numbers already sent are skipped either way. `?after=N` skips
steps up to N (a client resuming after a reconnect).

The channel layer may lose a message (a failed publish, a worker killed between its commit and its
publish, a worker that takes a job over and does not publish the steps saved before): the steps a viewer
gets are nevertheless 1..N without a gap. A step is sent only right after the one before it; a live step
that arrives after a gap is sent once the gap is filled from the database (where every step is saved
before it is published), the final status only after every saved step, and a stream that has heard
nothing for TRM_STREAM_RECHECK_SECONDS reads the database itself, so a lost last step or status is
still delivered.

An ARC job also streams events (fitting progress, augmented solves, the vote: puzzles/messages.py), saved
as JobEvent rows with a `seq` and the step they follow (`after_step`). The replay sends them in place among
the steps; events already sent (by seq) are skipped, and with ?after=N those placed before step N too.

Limits and failures, each ending with a close code (daphne can send only 1000 and 3000-4999) after an
`{"type": "error", "code": ..., "error": ...}` message that says why (daphne drops a close frame's reason):
- 4429: the client (by address) already holds TRM_MAX_SOCKETS_PER_CLIENT sockets (see socket_slots.py).
- 4413: clients have nothing to say here; small messages are ignored, one over CLIENT_MESSAGE_MAX_BYTES
  ends the socket (daphne itself refuses any message over 1 MiB before it reaches the consumer).
- 4503: Redis (the channel layer) is unreachable; reconnect with ?after=N shortly, meanwhile the REST API
  answers from the database, where every step is saved.
"""

import asyncio
import functools
import logging
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from redis.exceptions import RedisError

from puzzles.client_identity import scope_client_address
from puzzles.messages import event_message, status_message, step_message
from puzzles.models import SolveJob
from puzzles.services.publishing import job_group
from puzzles.services.socket_slots import socket_slot_release, socket_slot_renew, socket_slot_take

logger = logging.getLogger(__name__)

CLIENT_MESSAGE_MAX_BYTES = 1024
CLOSE_MESSAGE_TOO_BIG = 4413
CLOSE_TOO_MANY_SOCKETS = 4429
CLOSE_TRY_AGAIN_LATER = 4503
# What the channel layer and the slot counter raise when Redis is down or restarting.
REDIS_DOWN = (RedisError, OSError)


class JobStreamConsumer(AsyncJsonWebsocketConsumer):
    async def __call__(self, scope, receive, send):
        self.accepted = self.closed = False
        self.slot_address: str | None = None
        self.renewing: asyncio.Task | None = None
        self.rechecking: asyncio.Task | None = None
        # The live handlers and the recheck task both send: one at a time, so no step goes out twice.
        self.sending = asyncio.Lock()
        self.heard_at = time.monotonic()
        try:
            await super().__call__(scope, receive, send)
        except REDIS_DOWN as error:
            logger.warning("job stream %s ended: Redis is unreachable or busy (%s)", scope.get("path"), error)
            await self._end(CLOSE_TRY_AGAIN_LATER, "the live stream is unavailable (Redis is down or busy); reconnect "
                                                   "in a few seconds with ?after=<last step>")
        finally:
            await self._free_slot()  # when the consumer ended some other way than a disconnect

    async def connect(self):
        self.job_id = self.scope["url_route"]["kwargs"]["job_id"]
        self.group = job_group(self.job_id)
        self.last_step = self.after = self._after_from_query()
        self.last_seq = 0
        self.status_sent = False
        if self.last_step is None:
            await self.close(code=4400)
            return
        if not await self._take_slot():
            limit = settings.TRM_MAX_SOCKETS_PER_CLIENT
            await self._end(CLOSE_TOO_MANY_SOCKETS, f"too many open streams: a client may watch at most {limit} at "
                                                    "once; close one to open another")
            return
        # Join before reading what is saved, so that a step published in between arrives live (duplicates are
        # dropped by number). The read also tells whether the job exists: one database trip per connect.
        await self.channel_layer.group_add(self.group, self.channel_name)
        steps, job = await self._saved_steps_and_job()
        if job is None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.close(code=4404)
            return
        await self.accept()
        async with self.sending:
            await self._send_saved(steps, job)
        if not self.status_sent:
            self.rechecking = asyncio.create_task(self._recheck_while_silent())

    def _after_from_query(self) -> int | None:
        values = parse_qs(self.scope.get("query_string", b"").decode()).get("after", ["0"])
        try:
            after = int(values[-1])
        except ValueError:
            return None
        return after if after >= 0 else None

    # Not thread-sensitive: these reads run in the executor's threads side by side instead of queueing on
    # the one thread that all consumers of this process would otherwise share (a burst of 400 viewers
    # connecting at once waited long enough there for daphne to drop handshakes).
    @functools.partial(database_sync_to_async, thread_sensitive=False)
    def _saved_steps_and_job(self, step_upto: int | None = None):
        """The saved steps after the last one sent (up to `step_upto`) and the events among them, in
        order, and the job."""
        # Read the job first: if it is finished then, every one of its steps is already saved.
        job = SolveJob.objects.filter(id=self.job_id).first()
        if job is None:
            return [], None
        saved = job.steps.filter(number__gt=self.last_step)
        if step_upto is not None:
            saved = saved.filter(number__lte=step_upto)
        steps = [step_message(step) for step in saved.order_by("number")]
        # Events placed after a step not read yet are left to the live path (they were published after the
        # group was joined), so that none is sent ahead of its step.
        upto = max([self.last_step] + [m["step"] for m in steps])
        events = [event_message(e) for e in job.events.filter(seq__gt=self.last_seq, after_step__gte=self.after,
                                                              after_step__lte=upto).order_by("seq")]
        in_order = sorted(steps + events, key=lambda m: (m["after_step"], 1, m["seq"]) if "seq" in m else (m["step"], 0, 0))
        return in_order, job

    async def _send_step(self, message: dict) -> None:
        """Send a step only if it is the next one (an event only if new); the callers fill gaps."""
        if self.status_sent or self.closed:
            return
        if "seq" in message:  # an event
            if message["seq"] <= self.last_seq or message["after_step"] > self.last_step:
                return
            self.last_seq = message["seq"]
        elif message["step"] != self.last_step + 1:
            return
        else:
            self.last_step = message["step"]
            # As late as the consumer can: what follows is daphne, the socket and the client (puzzles/messages.py).
            message = {**message, "relayed_at": time.time()}
        await self.send_json(message)

    async def _send_saved(self, messages: list[dict], job: SolveJob) -> None:
        """Send what the database gave, then the status if the job had ended when it was read."""
        for message in messages:
            await self._send_step(message)
        if job.is_finished:
            await self._send_status(status_message(job))

    async def _send_status(self, message: dict) -> None:
        if self.status_sent or self.closed:
            return
        self.status_sent = True
        await self.send_json(message)
        await self.close()

    async def _send_saved_upto(self, step: int) -> None:
        """Send the saved steps up to `step`, and the events among them, that the live path lost."""
        saved, _job = await self._saved_steps_and_job(step_upto=step)
        for message in saved:
            await self._send_step(message)

    async def job_step(self, event):
        self.heard_at = time.monotonic()
        message = event["payload"]
        async with self.sending:
            if message["step"] > self.last_step + 1:
                await self._send_saved_upto(message["step"] - 1)
            await self._send_step(message)

    async def job_event(self, event):
        self.heard_at = time.monotonic()
        message = event["payload"]
        async with self.sending:
            if message["seq"] > self.last_seq + 1 or message["after_step"] > self.last_step:
                await self._send_saved_upto(message["after_step"])
            await self._send_step(message)

    async def job_status(self, event):
        self.heard_at = time.monotonic()
        async with self.sending:
            # A finished job's steps are all saved: send any the live path missed before the status.
            steps, _job = await self._saved_steps_and_job()
            for message in steps:
                await self._send_step(message)
            await self._send_status(event["payload"])

    async def _recheck_while_silent(self) -> None:
        """Read the database whenever the layer has been silent for a while: a lost last step or status."""
        interval = settings.TRM_STREAM_RECHECK_SECONDS
        while not (self.status_sent or self.closed):
            await asyncio.sleep(max(0.0, self.heard_at + interval - time.monotonic()))
            if time.monotonic() - self.heard_at < interval:
                continue
            self.heard_at = time.monotonic()
            try:
                async with self.sending:
                    saved, job = await self._saved_steps_and_job()
                    if job is not None:
                        await self._send_saved(saved, job)
            except Exception:  # the database is down: the next recheck tries again
                logger.warning("job stream %s: could not read the saved steps", self.job_id, exc_info=True)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > CLIENT_MESSAGE_MAX_BYTES:
            await self._end(CLOSE_MESSAGE_TOO_BIG, f"this stream only sends; a message to it may have at most "
                                                   f"{CLIENT_MESSAGE_MAX_BYTES} bytes")

    async def accept(self, subprotocol=None, headers=None):
        await super().accept(subprotocol, headers)
        self.accepted = True

    async def close(self, code=None, reason=None):
        self.closed = True
        await super().close(code, reason)

    async def _end(self, code: int, reason: str) -> None:
        """Tell the client why, then close with `code` (accepting first: a refused handshake carries nothing)."""
        if self.closed:
            return
        if not self.accepted:
            await self.accept()
        await self.send_json({"type": "error", "code": code, "error": reason})
        await self.close(code=code, reason=reason)

    async def _take_slot(self) -> bool:
        address = scope_client_address(self.scope) or "unknown"
        if not await socket_slot_take(address=address, socket_id=self.channel_name):
            return False
        self.slot_address = address
        self.renewing = asyncio.create_task(self._renew_slot())
        return True

    async def _renew_slot(self) -> None:
        while True:
            await asyncio.sleep(settings.TRM_SOCKET_LEASE_SECONDS / 3)
            try:
                await socket_slot_renew(address=self.slot_address, socket_id=self.channel_name)
            except REDIS_DOWN:  # the stream itself ends when Redis is gone; a blip only shortens the lease
                logger.warning("could not renew the socket lease of %s", self.slot_address)

    async def _free_slot(self) -> None:
        if self.renewing is not None:
            self.renewing.cancel()
        if self.rechecking is not None:
            self.rechecking.cancel()
        if self.slot_address is None:
            return
        address, self.slot_address = self.slot_address, None
        try:
            await socket_slot_release(address=address, socket_id=self.channel_name)
        except REDIS_DOWN:
            logger.warning("could not free a socket slot of %s; its lease lapses by itself", address)

    async def disconnect(self, code):
        # Now, not when the consumer returns: that waits for the channel layer to give up its receive,
        # which can take seconds, and meanwhile the closed socket would still count against its client.
        await self._free_slot()
        if hasattr(self, "group"):
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except REDIS_DOWN:  # Redis lost the group anyway, or expires it (group_expiry)
                pass
