// The job page: receives steps over the WebSocket, animates them, and lets the viewer scrub through them.
// It reconnects by itself with ?after=<last step>, so no step is shown twice or lost.
"use strict";

const root = document.getElementById("job");
const jobId = root.dataset.jobId;
const kind = root.dataset.kind;
const steps = [];
let shown = 0;
let playing = true;
let finished = false;
let retryDelay = 500;
const PLAY_INTERVAL_MS = 400;

const el = (id) => document.getElementById(id);

function render(index) {
  if (index < 1 || index > steps.length) return;
  shown = index;
  const step = steps[index - 1];
  const previous = index > 1 ? steps[index - 2].grid : null;
  drawGrid(el("grid"), kind, step.grid, {previous, confidence: step.confidence});
  el("step-number").textContent = String(step.step);
  el("halt-prob").textContent = step.halt_prob.toFixed(3);
  el("step-seconds").textContent = `${(step.seconds * 1000).toFixed(0)} ms`;
  el("scrubber").max = String(steps.length);
  el("scrubber").value = String(index);
  el("scrubber").disabled = false;
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function cancelJob() {
  el("cancel-button").disabled = true;
  const response = await fetch(`/api/v1/jobs/${jobId}/cancel/`, {method: "POST", headers: {"X-CSRFToken": csrfToken()}});
  if (!response.ok) {
    const answer = await response.json().catch(() => ({}));
    el("job-error").textContent = answer.error || `Could not cancel (${response.status})`;
    el("cancel-button").disabled = false;
  }
}

function showFinished(message) {
  finished = true;
  el("job-status").textContent = message.status;
  el("job-error").textContent = message.error || "";
  el("cancel-button").hidden = true;
}

function receive(message) {
  if (message.type === "step") {
    steps.push(message);
    el("scrubber").max = String(steps.length);
    if (playing && shown === steps.length - 1) render(steps.length);
  } else if (message.type === "status") {
    showFinished(message);
  }
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${window.location.host}/ws/jobs/${jobId}/?after=${steps.length}`);
  socket.addEventListener("open", () => {
    retryDelay = 500;
    if (!finished) el("job-status").textContent = "running";
  });
  socket.addEventListener("message", (event) => receive(JSON.parse(event.data)));
  socket.addEventListener("close", () => {
    if (finished) return;
    el("job-status").textContent = "reconnecting…";
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 8000);
  });
}

function setPlaying(on) {
  playing = on;
  el("play-button").textContent = playing ? "Pause" : "Play";
}

function stepBy(delta) {
  // Stepping by hand pauses the animation, so it does not move on under the viewer.
  setPlaying(false);
  render(shown + delta);
}

function togglePlay() {
  setPlaying(!playing);
  if (playing && shown === steps.length) render(1);
}

setInterval(() => {
  if (playing && shown < steps.length) render(shown + 1);
}, PLAY_INTERVAL_MS);

el("scrubber").addEventListener("input", (event) => { setPlaying(false); render(Number(event.target.value)); });
el("prev-button").addEventListener("click", () => stepBy(-1));
el("next-button").addEventListener("click", () => stepBy(1));
el("play-button").addEventListener("click", togglePlay);
el("cancel-button").addEventListener("click", cancelJob);
el("cancel-button").hidden = ["done", "failed", "cancelled"].includes(root.dataset.status);
document.addEventListener("keydown", (event) => {
  if (event.key === "ArrowLeft") stepBy(-1);
  else if (event.key === "ArrowRight") stepBy(1);
  else if (event.key === " ") { event.preventDefault(); togglePlay(); }
});
connect();
