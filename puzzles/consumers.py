"""`/ws/jobs/<id>/`: a job's steps, saved ones first, then live ones, each exactly once.

The consumer joins the job's group before reading the saved rows, so a step published during the replay
is either in the rows or arrives live; step numbers already sent are skipped either way. `?after=N` skips
steps up to N (a client resuming after a reconnect).

An ARC job also streams events (fitting progress, augmented solves, the vote: puzzles/messages.py), saved
as JobEvent rows with a `seq` and the step they follow (`after_step`). The replay sends them in place among
the steps; events already sent (by seq) are skipped, and with ?after=N those placed before step N too.
"""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from puzzles.messages import event_message, status_message, step_message
from puzzles.models import SolveJob
from puzzles.publishing import job_group


class JobStreamConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.job_id = self.scope["url_route"]["kwargs"]["job_id"]
        self.group = job_group(self.job_id)
        self.last_step = self.after = self._after_from_query()
        self.last_seq = 0
        self.status_sent = False
        if self.last_step is None:
            await self.close(code=4400)
            return
        if not await self._job_exists():
            await self.close(code=4404)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        steps, job = await self._saved_steps_and_job()
        for message in steps:
            await self._send_step(message)
        if job.is_finished:
            await self._send_status(status_message(job))

    def _after_from_query(self) -> int | None:
        values = parse_qs(self.scope.get("query_string", b"").decode()).get("after", ["0"])
        try:
            after = int(values[-1])
        except ValueError:
            return None
        return after if after >= 0 else None

    @database_sync_to_async
    def _job_exists(self) -> bool:
        return SolveJob.objects.filter(id=self.job_id).exists()

    @database_sync_to_async
    def _saved_steps_and_job(self):
        # Read the job first: if it is finished then, every one of its steps is already saved.
        job = SolveJob.objects.get(id=self.job_id)
        steps = [step_message(step) for step in job.steps.filter(number__gt=self.last_step).order_by("number")]
        # Events placed after a step not read yet are left to the live path (they were published after the
        # group was joined), so that none is sent ahead of its step.
        upto = max([self.last_step] + [m["step"] for m in steps])
        events = [event_message(e) for e in job.events.filter(seq__gt=self.last_seq, after_step__gte=self.after,
                                                              after_step__lte=upto).order_by("seq")]
        in_order = sorted(steps + events, key=lambda m: (m["after_step"], 1, m["seq"]) if "seq" in m else (m["step"], 0, 0))
        return in_order, job

    async def _send_step(self, message: dict) -> None:
        if "seq" in message:  # an event
            if message["seq"] <= self.last_seq or self.status_sent:
                return
            self.last_seq = message["seq"]
        elif message["step"] <= self.last_step or self.status_sent:
            return
        else:
            self.last_step = message["step"]
        await self.send_json(message)

    async def _send_status(self, message: dict) -> None:
        if self.status_sent:
            return
        self.status_sent = True
        await self.send_json(message)
        await self.close()

    async def job_step(self, event):
        await self._send_step(event["payload"])

    async def job_event(self, event):
        await self._send_step(event["payload"])

    async def job_status(self, event):
        # A finished job's steps are all saved: send any the live path missed before the status.
        steps, _job = await self._saved_steps_and_job()
        for message in steps:
            await self._send_step(message)
        await self._send_status(event["payload"])

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
