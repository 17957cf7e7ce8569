// The halting probability of every step as a small inline SVG chart: one point per step, the 0.5 line,
// the first step where the model would have stopped (q_halt_logit > 0, i.e. probability > 0.5) marked,
// the step on screen highlighted. Clicking a point (or Enter on it) asks the page to show that step.
// Beside it, when the verdict can count them, the share of cells right at each step (verdicts.js
// cellsRight), dashed on the same 0-1 scale: where the answer gets right against where the model is sure.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const CHART = {width: 320, height: 130, left: 34, right: 10, top: 14, bottom: 22};

function firstHaltingStep(steps) {
  // The step where the halting head first says "stop": the reference's ACT halts there during training.
  return steps.find((step) => step.q_halt_logit > 0) || null;
}

function svgElement(name, attributes = {}, text = null) {
  const element = document.createElementNS(SVG_NS, name);
  Object.entries(attributes).forEach(([key, value]) => element.setAttribute(key, String(value)));
  if (text !== null) element.textContent = text;
  return element;
}

class HaltingChart {
  // container: an element to draw into; maxSteps: the steps the job asked for (fixes the x axis);
  // onSelect(index): the viewer picked step `index` (1-based).
  constructor(container, {maxSteps, onSelect}) {
    this.container = container;
    this.maxSteps = Math.max(maxSteps, 2);
    this.onSelect = onSelect;
  }

  x(stepNumber) {
    const span = CHART.width - CHART.left - CHART.right;
    return CHART.left + ((stepNumber - 1) / (this.maxSteps - 1)) * span;
  }

  y(probability) {
    return CHART.top + (1 - probability) * (CHART.height - CHART.top - CHART.bottom);
  }

  draw(steps, current, rightShares = []) {
    // rightShares[i]: the share of cells right at steps[i] (0-1), or null where the verdict cannot count.
    // Redrawn whole on each change; a point that had the keyboard focus gets it back.
    const focused = this.container.contains(document.activeElement) ? document.activeElement.dataset.step : null;
    const svg = svgElement("svg", {
      viewBox: `0 0 ${CHART.width} ${CHART.height}`, class: "halting-chart", role: "group",
      "aria-label": "Halting probability per step",
    });
    const bottom = this.y(0);
    svg.append(
      svgElement("line", {class: "axis", x1: CHART.left, x2: CHART.width - CHART.right, y1: bottom, y2: bottom}),
      svgElement("line", {class: "threshold", x1: CHART.left, x2: CHART.width - CHART.right, y1: this.y(0.5), y2: this.y(0.5)}),
    );
    [0, 0.5, 1].forEach((p) => svg.append(svgElement("text", {class: "label", x: CHART.left - 9, y: this.y(p) + 3, "text-anchor": "end"}, String(p))));
    const ticks = new Set([1, this.maxSteps, ...steps.map((step) => step.step).filter((n) => n % 4 === 0)]);
    ticks.forEach((n) => svg.append(svgElement("text", {class: "label", x: this.x(n), y: CHART.height - 6, "text-anchor": "middle"}, String(n))));
    const halting = firstHaltingStep(steps);
    if (halting) {
      svg.append(
        svgElement("line", {class: "halt-mark", x1: this.x(halting.step), x2: this.x(halting.step), y1: CHART.top - 4, y2: bottom}),
        svgElement("text", {class: "label halt-label", x: this.x(halting.step) + (halting.step > this.maxSteps / 2 ? -3 : 3), y: CHART.top - 2,
          "text-anchor": halting.step > this.maxSteps / 2 ? "end" : "start"}, "stops here"),
      );
    }
    if (steps.length > 1) {
      svg.append(svgElement("polyline", {class: "trace", points: steps.map((step) => `${this.x(step.step)},${this.y(step.halt_prob)}`).join(" ")}));
    }
    const right = steps.map((step, i) => [step, rightShares[i]]).filter(([, share]) => share !== null && share !== undefined);
    if (right.length) {
      svg.append(svgElement("polyline", {class: "right-trace", points: right.map(([step, share]) => `${this.x(step.step)},${this.y(share)}`).join(" ")}));
      right.forEach(([step, share]) => svg.append(svgElement("circle", {class: "right-point", cx: this.x(step.step), cy: this.y(share), r: 2.5})));
      svg.append(svgElement("text", {class: "label right-label", x: CHART.width - CHART.right, y: CHART.height - 6 - 10, "text-anchor": "end"},
        "- - cells right"));
    }
    steps.forEach((step, i) => {
      const classes = ["point", i + 1 === current ? "current" : "", step === halting ? "halting" : ""].filter(Boolean).join(" ");
      const label = `Step ${step.step}: halting probability ${step.halt_prob.toFixed(3)}, ${formatSeconds(step.seconds)}`;
      const point = svgElement("circle", {class: classes, cx: this.x(step.step), cy: this.y(step.halt_prob), r: i + 1 === current ? 6 : 4,
        tabindex: 0, role: "button", "aria-label": label, "data-step": step.step});
      point.append(svgElement("title", {}, label));
      point.addEventListener("click", () => this.onSelect(i + 1));
      point.addEventListener("keydown", (event) => {
        if (event.key !== "Enter") return;
        event.preventDefault();
        this.onSelect(i + 1);
      });
      svg.append(point);
    });
    this.container.replaceChildren(svg);
    if (focused) svg.querySelector(`[data-step="${focused}"]`)?.focus();
  }
}

function haltingSummary(steps, finished, maxSteps) {
  // The chart's caption: where the model would have stopped, in words.
  const halting = firstHaltingStep(steps);
  if (halting) {
    return `The model would have stopped at step ${halting.step} of ${maxSteps} (halting probability ${halting.halt_prob.toFixed(2)}).`;
  }
  if (!steps.length) return "No step yet.";
  const when = !finished ? "so far" : steps.length === 1 ? "in its only step" : `in all ${steps.length} steps`;
  return `The halting probability stayed at or below 0.5 ${when}: the model would not have stopped.`;
}

function formatSeconds(seconds) {
  return seconds < 1 ? `${(seconds * 1000).toFixed(0)} ms` : `${seconds.toFixed(2)} s`;
}
