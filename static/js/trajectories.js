// A job with samples or views (solver/thinking.py) thinks along several trajectories at once: this draws
// the step on screen as small multiples, one board per trajectory (its answer mapped back to the puzzle's
// frame), the chosen one outlined, each labelled with its halting probability, and says in words which
// one the halting head (or the vote) picked and how many trajectories agree with it.
"use strict";

function trajectoryLabel(trajectory) {
  const noise = trajectory.sample === 0 ? "exact" : `sample ${trajectory.sample}`;
  const view = trajectory.view === 0 ? "as given" : `view ${trajectory.view}`;
  return `${noise} · ${view}`;
}

function trajectoriesSummary(step) {
  // One sentence: which trajectory gave the answer shown, why, and how many agree.
  if (!step || !step.trajectories || !step.trajectories.length) return "";
  const chosen = step.trajectories[step.chosen];
  const halted = step.trajectories.filter((t) => !t.active).length;
  return `${step.trajectories.length} trajectories: the answer shown is ${trajectoryLabel(chosen)}'s, ` +
    `chosen for its halting probability ${chosen.halt_prob.toFixed(3)}; ${step.agreeing} of ` +
    `${step.trajectories.length} give the same answer` + (halted ? `; ${halted} had stopped by this step.` : ".");
}

function drawTrajectories(container, caption, kind, step, puzzleGrid) {
  // container: the figure's list; caption: its figcaption. Hidden for a job with one trajectory.
  const figure = container.closest("figure");
  const trajectories = (step && step.trajectories) || [];
  figure.hidden = !trajectories.length;
  if (!trajectories.length) return;
  container.replaceChildren(...trajectories.map((trajectory, i) => {
    const item = document.createElement("li");
    item.className = "trajectory";
    item.classList.toggle("chosen", i === step.chosen);
    item.classList.toggle("stopped", !trajectory.active);
    const board = document.createElement("div");
    board.setAttribute("role", "img");
    board.setAttribute("aria-label", `${trajectoryLabel(trajectory)}: halting probability ${trajectory.halt_prob.toFixed(3)}` +
      (i === step.chosen ? ", chosen" : ""));
    drawGrid(board, kind, trajectory.grid, {landmarks: kind === "maze" ? puzzleGrid : undefined});
    const label = document.createElement("small");
    label.textContent = `${trajectoryLabel(trajectory)} · p ${trajectory.halt_prob.toFixed(2)}` + (i === step.chosen ? " · chosen" : "");
    item.append(board, label);
    return item;
  }));
  caption.textContent = trajectoriesSummary(step);
}
