// One job's board at one step: the answer or the confidence heatmap, changed cells outlined, and the
// verdict on the answer (verdicts.js) with the cells it blames marked. Used by the job and compare pages.
"use strict";

class StepView {
  // elements: {grid, verdict}; puzzle: the job's puzzle body (null when unknown: no verdict then).
  constructor({elements, kind, puzzle}) {
    this.elements = elements;
    this.kind = kind;
    this.puzzle = puzzle;
    this.reference = puzzle ? verdictReference(kind, puzzle) : null;
  }

  async completePuzzle() {
    // True when the verdict can now say more (an ARC task's test outputs found in the library).
    if (this.kind !== "arc" || !this.puzzle) return false;
    const fuller = await arcLibraryOutputs(this.puzzle).catch(() => null);
    if (!fuller) return false;
    this.puzzle = fuller;
    this.reference = verdictReference(this.kind, fuller);
    return true;
  }

  show(steps, index, {heatmap}) {
    const step = steps[index - 1];
    if (!step) return null;
    const previous = index > 1 ? steps[index - 2].grid : null;
    const verdict = this.reference ? judgeStep(this.kind, this.puzzle, this.reference, step) : null;
    drawGrid(this.elements.grid, this.kind, step.grid, {
      previous,
      confidence: heatmap ? step.confidence : null,
      heatmap,
      // Marks would hide the colours of the heatmap; the verdict's sentence stays.
      marked: verdict && !heatmap ? verdict.marked : [],
      landmarks: this.kind === "maze" && this.puzzle ? this.puzzle.grid : null,
    });
    const box = this.elements.verdict;
    box.textContent = verdict ? verdict.text : "No verdict: the puzzle is not known to this page.";
    box.dataset.status = verdict ? verdict.status : "unknown";
    return verdict;
  }
}

function boardSummary(kind, puzzle, steps, index, {stepsRequested, heatmap}) {
  // The board at step `index` in one sentence, for screen readers: to them the board is one image, so that
  // playback does not read out every cell of every step.
  const step = steps[index - 1];
  const cells = gridCells(kind, step.grid).flat();
  const previous = index > 1 ? gridCells(kind, steps[index - 2].grid).flat() : null;
  const parts = [];
  if (kind === "sudoku") {
    const conflicts = sudokuConflicts(step.grid).size;
    parts.push(`${cells.filter(Boolean).length} of 81 cells filled`,
      conflicts ? `${countOf(conflicts, "cell breaks", "cells break")} a rule` : "no rule broken");
  } else if (kind === "maze") {
    const where = (mark) => {
      const at = puzzle ? mazeFind(puzzle.grid, mark) : null;
      return at ? `${mark} at row ${at[0] + 1}, column ${at[1] + 1}` : `no ${mark}`;
    };
    parts.push(`${countOf(cells.filter((value) => value === "o").length, "cell", "cells")} marked as path`, `${where("S")}, ${where("G")}`);
  } else {
    parts.push(`a ${step.grid.length} by ${step.grid.length ? step.grid[0].length : 0} answer`);
  }
  if (previous) parts.push(`${countOf(cells.filter((value, i) => value !== previous[i]).length, "cell", "cells")} changed since step ${steps[index - 2].step}`);
  if (heatmap) {
    const unsure = step.confidence.flat().filter((p) => p < 0.5).length;
    parts.push(`coloured by confidence, ${countOf(unsure, "cell", "cells")} below one half`);
  }
  return `Step ${step.step} of ${stepsRequested}: ${parts.join("; ")}.`;
}

async function arcLibraryOutputs(puzzle) {
  // A task sent by name without its test outputs: take them from the ARC library (/api/v1/arc-tasks/), but
  // only from a task of that name whose test inputs are the ones solved, so an edited task is not misjudged.
  if (!puzzle.task || puzzle.test.every((pair) => pair.output)) return null;
  const listed = await fetch(`/api/v1/arc-tasks/?q=${encodeURIComponent(puzzle.task)}`);
  if (!listed.ok) return null;
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  for (const summary of (await listed.json()).results.filter((task) => task.name === puzzle.task)) {
    const response = await fetch(`/api/v1/arc-tasks/${encodeURIComponent(summary.dataset)}/${encodeURIComponent(summary.name)}/`);
    if (!response.ok) continue;
    const task = await response.json();
    if (task.test.length !== puzzle.test.length || !task.test.every((pair, i) => same(pair.input, puzzle.test[i].input))) continue;
    return {...puzzle, test: puzzle.test.map((pair, i) => ({...pair, output: pair.output || task.test[i].output}))};
  }
  return null;
}

class ViewToggle {
  // The "Answer" / "Confidence" buttons (aria-pressed) and the heatmap legend; onChange(heatmap).
  constructor({answer, confidence, legend}, onChange) {
    this.buttons = {answer, confidence};
    this.legend = legend;
    this.onChange = onChange;
    this.heatmap = false;
    legend.querySelector(".legend-bar").style.background = `linear-gradient(to right, ${CONFIDENCE_STOPS.join(", ")})`;
    answer.addEventListener("click", () => this.set(false));
    confidence.addEventListener("click", () => this.set(true));
    this.set(false);
  }

  set(heatmap) {
    this.heatmap = heatmap;
    this.buttons.answer.setAttribute("aria-pressed", String(!heatmap));
    this.buttons.confidence.setAttribute("aria-pressed", String(heatmap));
    this.legend.hidden = !heatmap;
    this.onChange(heatmap);
  }

  toggle() {
    this.set(!this.heatmap);
  }
}
