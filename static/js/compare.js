// The compare page: two jobs (usually one puzzle, two checkpoints) watched at once, each through its own
// stream, played together by one scrubber and one play button; each board shows its own verdict.
"use strict";

const byId = (id) => document.getElementById(id);

class ComparePanel {
  constructor(element, onStep) {
    this.element = element;
    const part = (name) => element.querySelector(`.${name}`);
    this.parts = {status: part("panel-status"), error: part("panel-error"), step: part("panel-step"), halt: part("panel-halt")};
    const puzzle = JSON.parse(byId(`puzzle-${element.dataset.panel}`).textContent);
    this.view = new StepView({elements: {grid: part("panel-grid"), verdict: part("panel-verdict")}, kind: element.dataset.kind, puzzle});
    this.stream = new JobStream(element.dataset.jobId, {
      onStep,
      onStatus: (message) => {
        this.parts.status.textContent = message.status;
        this.parts.error.textContent = message.error || "";
      },
      onConnection: (state) => {
        if (!this.stream.finished) this.parts.status.textContent = state === "open" ? "running" : "reconnecting…";
      },
    });
  }

  show(index, heatmap) {
    // A job with fewer steps than the other stays on its last one.
    const steps = this.stream.steps;
    const own = Math.min(index, steps.length);
    if (!own) return;
    this.view.show(steps, own, {heatmap});
    this.parts.step.textContent = String(steps[own - 1].step);
    this.parts.halt.textContent = steps[own - 1].halt_prob.toFixed(3);
  }
}

const panels = [...document.querySelectorAll(".panel")].map((element) => new ComparePanel(element, () => comparePlayback.stepsChanged()));
const comparePlayback = new Playback({
  elements: {play: byId("play-button"), prev: byId("prev-button"), next: byId("next-button"), scrubber: byId("scrubber"), speed: byId("speed")},
  length: () => Math.max(...panels.map((panel) => panel.stream.steps.length)),
  render: (index) => {
    byId("step-number").textContent = String(index);
    panels.forEach((panel) => panel.show(index, compareToggle.heatmap));
  },
});
const compareToggle = new ViewToggle({answer: byId("view-answer"), confidence: byId("view-confidence"), legend: byId("confidence-legend")},
  () => comparePlayback.refresh());

comparePlayback.bindKeys({h: () => compareToggle.toggle()});
panels.forEach((panel) => {
  panel.stream.start();
  panel.view.completePuzzle().then((more) => { if (more) comparePlayback.refresh(); });
});
