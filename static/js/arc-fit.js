// The three phases of an ARC job answered by test-time fitting (puzzles/messages.py): the loss curve of the
// puzzle-embedding fit (inline SVG), the augmented views of the first test input with their answers mapped
// back to the task's frame, and the vote with its two attempts. The job page's one JobStream hands it those
// messages (job.js: onEvent); a replay after a reconnection may repeat some, which the view keys absorb.
"use strict";

const ARC_FIT_TYPES = new Set(["phase", "fit", "aug_step", "vote"]);
const DIHEDRAL_NAMES = ["as drawn", "rotated 90°", "rotated 180°", "rotated 270°", "flipped left-right",
  "flipped up-down", "transposed", "anti-transposed"];
const FIT_CHART = {width: 320, height: 140, left: 38, right: 34, top: 12, bottom: 24};
const ARC_FIT_STYLE = `
#arc-fit { margin-top: 1rem; }
#arc-fit[hidden] { display: none; }
#arc-fit h2 { font-size: 1.1rem; margin: .2rem 0 .4rem; }
#arc-fit h3 { font-size: 1rem; margin: .8rem 0 .3rem; }
#arc-fit .arc-fit-chart svg { width: 100%; max-width: 420px; height: auto; color: var(--fg); }
#arc-fit .arc-fit-views, #arc-fit .arc-fit-candidates { display: grid; gap: .6rem; grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr)); }
#arc-fit figure { margin: 0; padding: .4rem; border: 1px solid var(--line); border-radius: 8px; background: var(--bg); }
#arc-fit figure.attempt { border-color: var(--accent); border-width: 2px; }
#arc-fit figcaption { font-size: .8rem; color: var(--muted); }
#arc-fit .pair { display: flex; gap: .3rem; align-items: center; }
#arc-fit .pair > span { color: var(--muted); }
#arc-fit .grid { width: 4.2rem; max-width: 100%; border-width: 1px; }
#arc-fit .grid-arc .cell { border: 0; }
#arc-fit .arc-fit-candidates .grid { width: 6rem; }
`;

function arcFitSvg(name, attributes = {}, text = null) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", name);
  Object.entries(attributes).forEach(([key, value]) => node.setAttribute(key, String(value)));
  if (text !== null) node.textContent = text;
  return node;
}

function describeTransform(transform) {
  const recoloured = transform.colours.some((colour, i) => colour !== i);
  return `${DIHEDRAL_NAMES[transform.dihedral] || `transform ${transform.dihedral}`}${recoloured ? ", colours swapped" : ""}`;
}

class ArcFitView {
  constructor(root) {
    this.root = root;
    this.fit = new Map();  // step -> fit message (a replay may repeat some)
    this.views = new Map();  // augmentation -> {transform, input, steps: Map(step -> message)}
    this.phases = {};  // phase -> phase message
    this.vote = null;
    this.build();
  }

  build() {
    const style = document.createElement("style");
    style.textContent = ARC_FIT_STYLE;
    this.root.hidden = true;
    this.root.innerHTML = `
      <h2>Test-time fitting</h2>
      <p class="arc-fit-phase" aria-live="polite"></p>
      <div class="arc-fit-chart" role="img"></div>
      <h3 class="arc-fit-views-title" hidden>Views of the first test input, answers mapped back</h3>
      <div class="arc-fit-views"></div>
      <h3 class="arc-fit-vote-title" hidden>Vote</h3>
      <div class="arc-fit-vote"></div>`;
    this.root.prepend(style);
    this.el = (name) => this.root.querySelector(`.arc-fit-${name}`);
  }

  receive(message) {
    if (message.type === "phase") this.phases[message.phase] = message;
    else if (message.type === "fit") this.fit.set(message.step, message);
    else if (message.type === "aug_step") this.addViewStep(message);
    else if (message.type === "vote") this.vote = message;
    this.root.hidden = false;
    this.render(message.type);
  }

  addViewStep(message) {
    const view = this.views.get(message.augmentation) || {transform: message.transform, input: null, steps: new Map()};
    if (message.input) view.input = message.input;
    view.steps.set(message.step, message);
    this.views.set(message.augmentation, view);
  }

  render(changed) {
    this.renderPhase();
    if (changed === "fit") this.renderChart();
    if (changed === "aug_step") this.renderViews();
    if (changed === "vote") this.renderVote();
  }

  renderPhase() {
    const fit = this.phases.fit, solve = this.phases.solve;
    const last = [...this.fit.values()].pop();
    let text = "";
    if (this.vote) {
      const t = this.vote.timings;
      text = `${this.vote.fitted ? "Fitted" : "Known task: learned"} puzzle embeddings, ${this.vote.augmentations} views voted. ` +
        `Fit ${formatSeconds(t.fit)} · solve ${formatSeconds(t.solve)} · vote ${formatSeconds(t.vote)}.`;
    } else if (solve) {
      text = `Solving ${solve.augmentations} views of the task${fit ? ` (fitting took ${formatSeconds(solve.seconds)})` : ""}…`;
    } else if (fit) {
      text = `Fitting the task's puzzle embedding over ${fit.augmentations} views: ` +
        (last ? `update ${last.step} of ${last.steps}, loss ${last.loss.toFixed(3)}, accuracy ${(100 * last.accuracy).toFixed(1)}%` : "starting…");
    }
    this.el("phase").textContent = text;
  }

  renderChart() {
    const points = [...this.fit.values()].sort((a, b) => a.step - b.step);
    const box = this.el("chart");
    if (!points.length) return;
    const {width, height, left, right, top, bottom} = FIT_CHART;
    const steps = points[points.length - 1].steps;
    const losses = points.map((p) => p.loss);
    // The loss axis spans the losses seen (changes during a short fit are small next to the loss itself).
    const spread = Math.max(...losses) - Math.min(...losses) || 1;
    const high = Math.max(...losses) + 0.05 * spread, low = Math.min(...losses) - 0.05 * spread;
    const x = (step) => left + (width - left - right) * (steps > 1 ? (step - 1) / (steps - 1) : 0.5);
    const yLoss = (loss) => top + (height - top - bottom) * (high > low ? (high - loss) / (high - low) : 0.5);
    const yAcc = (accuracy) => top + (height - top - bottom) * (1 - accuracy);
    const svg = arcFitSvg("svg", {viewBox: `0 0 ${width} ${height}`});
    svg.append(
      arcFitSvg("line", {x1: left, y1: height - bottom, x2: width - right, y2: height - bottom, stroke: "currentColor", "stroke-opacity": 0.4}),
      arcFitSvg("text", {x: left - 4, y: top + 4, "text-anchor": "end", "font-size": 10, fill: "currentColor"}, high.toFixed(3)),
      arcFitSvg("text", {x: left - 4, y: height - bottom, "text-anchor": "end", "font-size": 10, fill: "currentColor"}, low.toFixed(3)),
      arcFitSvg("text", {x: width - right + 4, y: top + 4, "font-size": 10, fill: "#2e9e4f"}, "100%"),
      arcFitSvg("text", {x: width - right + 4, y: height - bottom, "font-size": 10, fill: "#2e9e4f"}, "0%"),
      arcFitSvg("text", {x: (left + width - right) / 2, y: height - 6, "text-anchor": "middle", "font-size": 10, fill: "currentColor"},
        `update (of ${steps}) · loss — accuracy ┄`),
      arcFitSvg("polyline", {points: points.map((p) => `${x(p.step)},${yLoss(p.loss)}`).join(" "), fill: "none",
        stroke: "currentColor", "stroke-width": 1.5}),
      arcFitSvg("polyline", {points: points.map((p) => `${x(p.step)},${yAcc(p.accuracy)}`).join(" "), fill: "none",
        stroke: "#2e9e4f", "stroke-width": 1.5, "stroke-dasharray": "3 2"}),
    );
    const last = points[points.length - 1];
    box.setAttribute("aria-label", `Fitting loss from ${losses[0].toFixed(3)} to ${last.loss.toFixed(3)} over ` +
      `${last.step} updates; accuracy on the demonstrations ${(100 * last.accuracy).toFixed(1)}%`);
    box.replaceChildren(svg);
  }

  renderViews() {
    this.el("views-title").hidden = false;
    const figures = [...this.views.entries()].sort((a, b) => a[0] - b[0]).map(([index, view]) => {
      const latest = [...view.steps.values()].sort((a, b) => a.step - b.step).pop();
      const figure = document.createElement("figure");
      const pair = document.createElement("div");
      pair.className = "pair";
      const input = document.createElement("div"), answer = document.createElement("div");
      if (view.input) drawGrid(input, "arc", view.input);
      if (latest.grid.length) drawGrid(answer, "arc", latest.grid);
      const arrow = document.createElement("span");
      arrow.textContent = "→";
      pair.append(input, arrow, answer);
      const caption = document.createElement("figcaption");
      caption.textContent = `View ${index + 1}: ${describeTransform(view.transform)} · step ${latest.step}, halting ${latest.halt_prob.toFixed(2)}`;
      figure.append(pair, caption);
      return figure;
    });
    this.el("views").replaceChildren(...figures);
  }

  renderVote() {
    this.el("vote-title").hidden = false;
    const sections = this.vote.tests.map((test, t) => {
      const section = document.createElement("section");
      if (this.vote.tests.length > 1) {
        const title = document.createElement("h3");
        title.textContent = `Test input ${t + 1}`;
        section.append(title);
      }
      const list = document.createElement("div");
      list.className = "arc-fit-candidates";
      test.candidates.forEach((candidate, rank) => {
        const figure = document.createElement("figure");
        if (rank < 2) figure.classList.add("attempt");
        const grid = document.createElement("div");
        if (candidate.grid.length) drawGrid(grid, "arc", candidate.grid);
        const caption = document.createElement("figcaption");
        caption.textContent = `${rank < 2 ? `Attempt ${rank + 1}: ` : ""}${candidate.count} vote${candidate.count === 1 ? "" : "s"}` +
          ` · halting ${candidate.confidence.toFixed(2)}`;
        figure.append(grid, caption);
        list.append(figure);
      });
      section.append(list);
      return section;
    });
    this.el("vote").replaceChildren(...sections);
  }
}

function arcFitViewForPage() {
  // The view of an ARC job page, or null on any other page or kind.
  const root = document.getElementById("arc-fit");
  const job = document.getElementById("job");
  return root && job && job.dataset.kind === "arc" ? new ArcFitView(root) : null;
}
