// The submit form: pick a kind, paste or write a puzzle, send it to the REST API, open the job page.
"use strict";

const HELP = {
  sudoku: "81 digits, row by row (line breaks allowed); '.' or '0' for a blank.",
  maze: "Lines of '#' (wall), ' ' (open), one 'S' and one 'G'; at most 30×30.",
  arc: 'A task as JSON: {"train": [{"input": grid, "output": grid}], "test": [{"input": grid}]}, colours 0-9.',
};

const form = document.getElementById("submit-form");
const text = document.getElementById("puzzle-text");
const errorBox = document.getElementById("form-error");

function currentKind() {
  return form.querySelector("input[name=kind]:checked").value;
}

const sudokuBoard = document.getElementById("sudoku-editor");
const sudokuEditor = new SudokuEditor(sudokuBoard, text, document.getElementById("sudoku-tools"));
const conflictNote = document.getElementById("sudoku-conflicts");
new MutationObserver(() => { conflictNote.hidden = sudokuBoard.dataset.conflicts === "0"; })
  .observe(sudokuBoard, {attributes: true, attributeFilter: ["data-conflicts"]});

const mazeBoard = document.getElementById("maze-editor");
const mazeEditor = new MazeEditor(mazeBoard, text, [document.getElementById("maze-width"), document.getElementById("maze-height")],
  document.getElementById("maze-info"), document.getElementById("maze-tools"));
const arcBoard = document.getElementById("arc-editor");
const arcEditor = new ArcEditor(arcBoard, text);
// The blank maze is as wide as the page's default side (the Width box, set from the active maze model).
const MAZE_SIDE = Number(document.getElementById("maze-width").value);
const EMPTY = {
  sudoku: ".".repeat(81).match(/.{9}/g).join("\n"),
  maze: ["S" + " ".repeat(MAZE_SIDE - 1), ...Array(MAZE_SIDE - 2).fill(" ".repeat(MAZE_SIDE)),
    " ".repeat(MAZE_SIDE - 1) + "G"].join("\n"),
  arc: "",
};
let shownKind = null;
// Per kind, from its active checkpoint (puzzles/views.py kind_defaults): steps trained with, largest grid.
const KIND_DEFAULTS = JSON.parse(document.getElementById("kind-defaults").textContent);
const KIND_GRIDS = {sudoku: "Sudokus", maze: "mazes up to", arc: "ARC grids up to"};

function applyKindDefaults(kind) {
  // The step box starts at the steps the active model was trained with: more are refused, fewer allowed.
  const steps = document.getElementById("steps");
  const note = document.getElementById("model-note");
  const defaults = KIND_DEFAULTS[kind];
  if (!defaults) {
    note.textContent = `No ${kind} checkpoint is active: a solve will be refused until an operator activates one.`;
    return;
  }
  steps.max = String(defaults.steps_cap);
  steps.value = String(defaults.steps);
  thinkHarderChanged();  // twice the trained steps if "Think harder" is on
  const side = defaults.largest_grid;
  note.textContent = `Solved by ${defaults.checkpoint}${defaults.trained ? "" : " (untrained: random weights)"}, ` +
    `trained with ${defaults.steps} steps; it takes ${KIND_GRIDS[kind]}${kind === "sudoku" ? "" : ` ${side}×${side}`}.`;
}

// Test-time compute (solver/limits.py): steps past training are allowed up to the checkpoint's cap and marked;
// "Think harder" asks for twice the trained steps, 4 trajectories and 4 views; "Stop when sure" halts.
const THINK_HARDER = {samples: 4, views: 4};

function showStepsNote() {
  const defaults = KIND_DEFAULTS[currentKind()];
  const steps = document.getElementById("steps");
  const note = document.getElementById("steps-note");
  if (!defaults) return;
  const past = Number(steps.value) > defaults.steps;
  steps.classList.toggle("steps-past-training", past);
  const harder = document.getElementById("think-harder").checked && currentKind() !== "arc";
  const parts = [];
  if (past) parts.push(`Steps past ${defaults.steps} go beyond what the model was trained with (up to ${defaults.steps_cap}).`);
  if (harder) parts.push(`Thinking harder: ${THINK_HARDER.samples} trajectories × ${Math.min(THINK_HARDER.views, defaults.most_views)} views, ` +
    "the answer the halting head is surest of; it takes several times longer.");
  if (currentKind() === "arc" && document.getElementById("think-harder").checked) {
    parts.push("ARC already thinks wide: it fits and votes over augmented views of the task.");
  }
  note.textContent = parts.join(" ");
}

function thinkHarderChanged() {
  const defaults = KIND_DEFAULTS[currentKind()];
  if (defaults && currentKind() !== "arc") {
    const steps = document.getElementById("steps");
    steps.value = String(document.getElementById("think-harder").checked ? Math.min(2 * defaults.steps, defaults.steps_cap) : defaults.steps);
  }
  showStepsNote();
}

function testTimeOptions(kind) {
  // What the job asks beyond its steps; ARC jobs vote over their fitting augmentations instead.
  if (kind === "arc") return {};
  const options = {halt: document.getElementById("halt-toggle").checked && KIND_DEFAULTS[kind] ? KIND_DEFAULTS[kind].halt_threshold : null};
  if (document.getElementById("think-harder").checked) {
    options.samples = THINK_HARDER.samples;
    options.views = Math.min(THINK_HARDER.views, KIND_DEFAULTS[kind] ? KIND_DEFAULTS[kind].most_views : 1);
  }
  return options;
}

function showKind() {
  const kind = currentKind();
  document.getElementById("puzzle-help").textContent = HELP[kind];
  if (shownKind !== null && kind !== shownKind) text.value = EMPTY[kind];  // each kind starts from a blank board
  if (kind !== shownKind) applyKindDefaults(kind);
  shownKind = kind;
  sudokuBoard.hidden = kind !== "sudoku";
  document.getElementById("sudoku-tools").hidden = kind !== "sudoku";
  mazeBoard.hidden = kind !== "maze";
  document.getElementById("maze-tools").hidden = kind !== "maze";
  arcBoard.hidden = kind !== "arc";
  if (kind === "sudoku") sudokuEditor.readText();
  if (kind === "maze") mazeEditor.readText();
  if (kind === "arc") arcEditor.readText();
}

function puzzleBody(kind, raw) {
  if (kind === "sudoku") return {grid: raw.replace(/\s+/g, "")};
  if (kind === "maze") return {grid: raw.replace(/\n+$/, "").split("\n")};
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new Error(`The ARC task is not valid JSON: ${error.message}`);
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

async function submit(event) {
  event.preventDefault();
  showError("");
  const kind = currentKind();
  let body;
  try {
    body = {kind, puzzle: puzzleBody(kind, text.value), steps: Number(document.getElementById("steps").value),
            ...testTimeOptions(kind)};
  } catch (error) {
    showError(error.message);
    return;
  }
  const button = document.getElementById("submit-button");
  button.disabled = true;
  try {
    if (kind === "sudoku") {  // a puzzle with no or several solutions is refused here, the board kept
      const problem = await sudokuSolutionProblem(body.puzzle.grid, csrfToken());
      if (problem) {
        showError(problem);
        return;
      }
    }
    const response = await fetch("/api/v1/jobs/", {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (response.status !== 202) {
      showError(answer.error || `The server answered ${response.status}`);
      return;
    }
    window.location.href = `/jobs/${answer.id}/`;
  } catch (error) {
    showError(`Could not reach the server: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

let historyPage = "/api/v1/jobs/?limit=10";

async function showHistory() {
  // The API lists only this browser session's jobs, a page at a time; "Show more" follows its `next`.
  const response = await fetch(historyPage);
  if (!response.ok) return;
  const page = await response.json();
  const more = document.getElementById("history-more");
  more.hidden = !page.next;
  historyPage = page.next && `/api/v1/jobs/${new URL(page.next).search}`;  // same origin as this page
  const jobs = page.results;
  if (!jobs.length) return;
  const list = document.getElementById("history");
  if (list.querySelector("li.muted")) list.replaceChildren();  // "None yet."
  list.append(...jobs.map((job) => {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `/jobs/${job.id}/`;
    link.textContent = `${job.kind} · ${job.status} · ${job.steps_done}/${job.steps_requested} steps`;
    const when = document.createElement("span");
    when.className = "muted";
    when.textContent = ` ${new Date(job.created_at).toLocaleString()}`;
    item.append(link, when);
    return item;
  }));
}

form.addEventListener("change", showKind);
form.addEventListener("submit", submit);
document.getElementById("think-harder").addEventListener("change", thinkHarderChanged);
document.getElementById("steps").addEventListener("input", showStepsNote);
async function loadExample() {
  // The kind's Example (puzzles/gallery.json): one the shipped demo of that kind solves.
  const kind = currentKind();
  const example = STARTING_PUZZLES.examples[kind];
  showError("");
  try {
    loadPuzzle(kind, kind === "arc" ? await arcEntryTask(example) : galleryText(example), "the example");
  } catch (error) {
    showError(`The example could not be loaded: ${error.message}.`);
  }
}

document.getElementById("example-button").addEventListener("click", loadExample);

function loadPuzzle(kind, puzzle, source) {
  // A whole puzzle from the gallery or a share link (text, or an ARC task object), into its kind's editor;
  // source: where it came from, as the ARC editor shows it ("from a shared link").
  form.querySelector(`input[name=kind][value=${kind}]`).checked = true;
  showKind();
  const sentence = `${source[0].toUpperCase()}${source.slice(1)}.`;
  if (kind === "sudoku") {
    sudokuEditor.load(puzzle);
    sudokuEditor.say(sentence);
  } else if (kind === "maze") mazeEditor.load(puzzle, sentence);
  else arcEditor.loadTask(puzzle, source);
}

function openSharedLink() {
  try {
    const shared = sharedPuzzle(location.hash);
    if (shared) loadPuzzle(shared.kind, shared.puzzle, "from a shared link");
  } catch (error) {
    showError(`The puzzle in this link could not be opened: ${error.message}.`);
  }
}

async function share() {
  showError("");
  const kind = currentKind();
  const box = document.getElementById("share");
  const field = document.getElementById("share-link");
  const note = document.getElementById("share-note");
  try {
    field.value = shareLink(kind, kind === "arc" ? arcEditor.toTask() : text.value);
  } catch (error) {
    showError(`Nothing to share yet: ${error.message}.`);
    return;
  }
  box.hidden = false;
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
    note.textContent = "Link copied to the clipboard.";
  } catch (error) {  // no clipboard access: the link is selected in the box
    note.textContent = "Copy the link from the box.";
  }
}

function currentShareLink() {
  try {
    const kind = currentKind();
    return shareLink(kind, kind === "arc" ? arcEditor.toTask() : text.value);
  } catch (error) {  // a board that cannot be shared right now differs from the shared one all the same
    return null;
  }
}

function flagStaleShareLink() {
  // The editors change the puzzle in their own event handlers; this runs after them. Once the puzzle is
  // not the one the box's link holds, say so rather than leave an old link looking current.
  const box = document.getElementById("share");
  const field = document.getElementById("share-link");
  if (box.hidden || field.classList.contains("stale") || currentShareLink() === field.value) return;
  field.classList.add("stale");
  document.getElementById("share-note").textContent =
    "The puzzle has changed since this link was made: press Share again for a link to the new one.";
}

document.getElementById("share-button").addEventListener("click", () => {
  document.getElementById("share-link").classList.remove("stale");
  share();
});
for (const type of ["input", "change", "keyup", "pointerup"]) {
  document.addEventListener(type, () => setTimeout(flagStaleShareLink, 0));
}
document.getElementById("history-more").addEventListener("click", showHistory);
window.addEventListener("hashchange", openSharedLink);
if (!text.value) text.value = EMPTY.sudoku;
showKind();
openSharedLink();
showGallery(document.getElementById("gallery"), loadPuzzle);
showHistory();
