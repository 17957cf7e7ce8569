// The job page: watches one job's stream (job-stream.js), plays its steps (playback.js) as the answer or
// the confidence heatmap with a verdict (step-view.js), charts the halting probability, lists the step
// timings, cancels the solve, and solves the same puzzle again with another checkpoint for comparison.
// Its title and the place in line of a queued job are job-status.js's.
"use strict";

const root = document.getElementById("job");
const jobId = root.dataset.jobId;
const kind = root.dataset.kind;
const stepsRequested = Number(root.dataset.steps);
const el = (id) => document.getElementById(id);
const puzzle = JSON.parse(el("puzzle-data").textContent);
let otherCheckpoints = [];

const view = new StepView({elements: {grid: el("grid"), verdict: el("verdict")}, kind, puzzle});
const chart = new HaltingChart(el("halting-chart"), {maxSteps: stepsRequested, onSelect: (index) => { playback.setPlaying(false); playback.show(index); }});
const arcFit = arcFitViewForPage();
// The stream says only when a job ends; that it runs shows in its first step or event. Until then a job
// that was queued when the page was made is shown as still waiting.
const statusWhenLoaded = el("job-status").textContent.trim();
let started = statusWhenLoaded !== "queued";
// A finished job's stream replays its steps before its status: the title need not say "Running" meanwhile.
const finishedWhenLoaded = JOB_FINISHED_TITLES[root.dataset.status] ? root.dataset.status : null;
let queuePosition = null;
function showRunning() {
  started = true;
  showQueuePosition(null);
  if (!stream.finished) el("job-status").textContent = "running";
}

function showQueuePosition(position) {
  queuePosition = position;
  el("queue-place").textContent = position ? `(${placeInLine(position)})` : "";
  el("queue-place").hidden = !position;
  showTitle();
}

function showTitle() {
  const finished = stream.finished ? stream.finished.status : finishedWhenLoaded;
  document.title = jobTitle({state: finished || (started ? "running" : "queued"), stepsDone: stream.steps.length, stepsRequested,
                             queuePosition, kindName: root.dataset.kindName});
}
const stream = new JobStream(jobId, {
  onStep: () => { showRunning(); playback.stepsChanged(); showSummary(); },
  onEvent: (message) => { showRunning(); if (arcFit && ARC_FIT_TYPES.has(message.type)) arcFit.receive(message); },
  onStatus: showFinished,
  onConnection: (state) => {
    if (stream.finished) return;
    if (state !== "open") el("job-status").textContent = "reconnecting…";
    else el("job-status").textContent = started ? "running" : "queued, waiting for a worker";
  },
});
const playback = new Playback({
  elements: {play: el("play-button"), prev: el("prev-button"), next: el("next-button"), scrubber: el("scrubber"), speed: el("speed")},
  length: () => stream.steps.length,
  render,
});
const viewToggle = new ViewToggle({answer: el("view-answer"), confidence: el("view-confidence"), legend: el("confidence-legend")},
  () => playback.refresh());

function render(index) {
  const step = stream.steps[index - 1];
  view.show(stream.steps, index, {heatmap: viewToggle.heatmap});
  el("board-summary").textContent = boardSummary(kind, view.puzzle, stream.steps, index, {stepsRequested, heatmap: viewToggle.heatmap});
  el("step-number").textContent = String(step.step);
  el("halt-prob").textContent = step.halt_prob.toFixed(3);
  el("step-seconds").textContent = formatSeconds(step.seconds);
  drawTrajectories(el("trajectories"), el("trajectories-note"), kind, step, kind === "maze" ? puzzle.grid : undefined);
  showSummary();
}

function rightAtEachStep() {
  // What the verdict counts right at every step so far ({right, of, label} or null), for the chart and table.
  return stream.steps.map((step) => (view.reference ? cellsRight(kind, view.puzzle, view.reference, step) : null));
}

function showSummary() {
  // The chart, its caption and the step table, for every step so far, with the one on screen highlighted.
  const steps = stream.steps;
  const right = rightAtEachStep();
  chart.draw(steps, playback.index, right.map((count) => (count ? count.right / count.of : null)));
  el("halting-note").textContent = haltingSummary(steps, Boolean(stream.finished), stepsRequested) + stoppedNote()
    + rightSummary(right);
  const label = right.find(Boolean)?.label;
  el("right-heading").textContent = label ? label[0].toUpperCase() + label.slice(1) : "Cells right";
  el("timings-body").replaceChildren(...steps.map((step, i) => {
    const row = document.createElement("tr");
    row.classList.toggle("current", i + 1 === playback.index);
    const count = right[i] ? `${right[i].right}/${right[i].of}` : "–";
    [String(step.step), step.halt_prob.toFixed(3), count, formatSeconds(step.seconds)].forEach((text) => {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    });
    return row;
  }));
  el("total-seconds").textContent = formatSeconds(steps.reduce((sum, step) => sum + step.seconds, 0));
}

function rightSummary(right) {
  const counted = right.filter(Boolean);
  if (!counted.length) return "";
  const last = counted[counted.length - 1];
  return ` Dashed: ${last.label} at each step (${last.right} of ${last.of} at the last).`;
}

function stepsCsv() {
  // The step table as CSV, one row per step, every figure unrounded.
  const right = rightAtEachStep();
  const rows = stream.steps.map((step, i) => [step.step, step.halt_prob, step.q_halt_logit, right[i] ? right[i].right : "",
    right[i] ? right[i].of : "", step.seconds].join(","));
  return ["step,halt_prob,q_halt_logit,right,of,seconds", ...rows].join("\n") + "\n";
}

async function copyStepsCsv() {
  const text = stepsCsv();
  try {
    await navigator.clipboard.writeText(text);
    el("csv-note").textContent = `Copied ${stream.steps.length} steps as CSV.`;
  } catch (error) {
    // No clipboard (an insecure origin, a refusal): show the CSV selected, for Ctrl-C.
    const box = el("csv-text");
    box.value = text;
    box.hidden = false;
    box.select();
    el("csv-note").textContent = "Select and copy the CSV below.";
  }
}

function stoppedNote() {
  // A job solved with a halting threshold ends where its halting head was sure enough: say so.
  const result = stream.finished && stream.finished.result;
  if (!result || !result.stopped_by_halting) return "";
  return ` It stopped there, at step ${result.steps} of ${stepsRequested}: the halting probability passed ${root.dataset.halt}.`;
}

function showFinished(message) {
  el("job-status").textContent = message.status;
  el("job-error").textContent = message.error || "";
  el("cancel-button").hidden = true;
  showQueuePosition(null);
  showSummary();
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function errorText(answer, status) {
  // An API error answer ({"error", "detail": {where: [what]}}) as one line.
  const details = Object.entries(answer.detail || {}).map(([where, what]) => `${where}: ${[].concat(what).join(", ")}`);
  return [answer.error || `HTTP ${status}`, ...details].join(" · ");
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

async function listOtherCheckpoints() {
  const response = await fetch("/api/v1/checkpoints/");
  if (!response.ok) return;
  otherCheckpoints = (await response.json()).filter((checkpoint) => checkpoint.kind === kind && checkpoint.name !== root.dataset.checkpoint);
  el("again-checkpoint").replaceChildren(...otherCheckpoints.map((checkpoint) => new Option(
    `${checkpoint.name}${checkpoint.active ? " (active)" : ""}${checkpoint.trained ? "" : " · untrained"}`, checkpoint.name)));
  el("again-form").hidden = !otherCheckpoints.length;
  el("again-none").hidden = Boolean(otherCheckpoints.length);
}

async function solveAgain(event) {
  event.preventDefault();
  const checkpoint = otherCheckpoints.find((candidate) => candidate.name === el("again-checkpoint").value);
  if (!checkpoint) return;
  el("again-button").disabled = true;
  el("again-error").textContent = "";
  const response = await fetch("/api/v1/jobs/", {
    method: "POST",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
    body: JSON.stringify({kind, puzzle, checkpoint: checkpoint.name, steps: Math.min(stepsRequested, checkpoint.halt_max_steps)}),
  });
  const answer = await response.json().catch(() => ({}));
  if (response.ok) {
    window.location.assign(`/compare/?a=${jobId}&b=${answer.id}`);
    return;
  }
  el("again-error").textContent = errorText(answer, response.status);
  el("again-button").disabled = false;
}

el("cancel-button").addEventListener("click", cancelJob);
el("csv-button").addEventListener("click", copyStepsCsv);
el("cancel-button").hidden = ["done", "failed", "cancelled"].includes(root.dataset.status);
el("again-form").addEventListener("submit", solveAgain);
playback.bindKeys({h: () => viewToggle.toggle()});
showSummary();
showTitle();
stream.start();
watchQueuePosition(jobId, {waiting: () => !started && !stream.finished, onPosition: showQueuePosition, onRunning: showRunning});
listOtherCheckpoints();
view.completePuzzle().then((more) => { if (more) playback.refresh(); });
