// A job's standing in words: the tab's title (queued, running at step k of n, or ended), so that a tab in
// the background tells when its job is done, and the place in line of a job that waits. The place comes
// from polling the job resource: a job's stream stays quiet until a worker takes it.
"use strict";

const QUEUE_POLL_MS = 3000;
const JOB_FINISHED_TITLES = {done: "Done ✓", failed: "Failed ✗", cancelled: "Cancelled"};

function placeInLine(position) {
  if (position === 1) return "next in line";
  const suffix = [11, 12, 13].includes(position % 100) ? "th" : ({1: "st", 2: "nd", 3: "rd"}[position % 10] || "th");
  return `${position}${suffix} in line`;
}

function jobTitle({state, stepsDone, stepsRequested, queuePosition, kindName}) {
  // state: "queued", "running" or the status the job ended with; queuePosition: null when not known.
  let words = JOB_FINISHED_TITLES[state] || state;
  if (state === "queued") words = queuePosition ? `Queued (${placeInLine(queuePosition)})` : "Queued";
  if (state === "running") words = stepsDone ? `Running · step ${stepsDone}/${stepsRequested}` : "Running";
  return `${words} · ${kindName} · TRM Playground`;
}

async function watchQueuePosition(jobId, {waiting, onPosition, onRunning}) {
  // While waiting() holds: onPosition(place in line) every QUEUE_POLL_MS; onRunning() once a worker has the
  // job (its first step still to come), or onPosition(null) once it has left the queue some other way.
  while (waiting()) {
    const response = await fetch(`/api/v1/jobs/${jobId}/`).catch(() => null);
    const job = response && response.ok ? await response.json().catch(() => null) : null;
    if (!waiting()) return;  // the stream spoke while the request was out
    if (job && job.status === "running") return onRunning();
    if (job && job.status !== "queued") return onPosition(null);
    if (job) onPosition(job.queue_position);
    await new Promise((resolve) => setTimeout(resolve, QUEUE_POLL_MS));
  }
}
