// An ARC task editor in the manner of the official ARC testing interface: a palette of the ten ARC
// colours (keys 0-9), tools to paint, select a rectangle or flood-fill, copy (C) and paste (V) at the
// cursor, grids resized from 1 to 30 each way, demonstration pairs and test inputs added, removed and
// reordered, undo / redo, import and export as JSON, and a searchable picker over the ARC-AGI tasks the
// server ships. Mouse, touch (pointer events) and keyboard (arrows move the cursor, Enter or space uses
// the tool). The editor and the textarea edit the same task, so the playground submits the textarea.
"use strict";

const ARC_COLOUR_NAMES = ["black", "blue", "red", "green", "yellow", "grey", "magenta", "orange", "light blue", "maroon"];
const ARC_DARK_COLOURS = new Set([0, 1, 2, 6, 9]);  // swatches that need a light digit on them
// The largest grid the active ARC checkpoint takes (its canvas: 30, or smaller for a CPU-sized model), so
// that the editor never makes a grid the server would refuse; 30 where the page says nothing.
const ARC_MAX_SIZE = (() => {
  const defaults = document.getElementById("kind-defaults");
  const arc = defaults ? JSON.parse(defaults.textContent).arc : null;
  return (arc && arc.largest_grid) || 30;
})();
const ARC_MAX_PAIRS = 10;  // what the API accepts (puzzles/services/puzzle_input.py)
const ARC_MAX_TESTS = 4;
const ARC_UNDO_DEPTH = 200;
const ARC_PAGE = 20;
const ARC_DATASETS = {"arc-agi-1": "ARC-AGI-1", "arc-agi-2": "ARC-AGI-2"};
const ARC_TOOLS = {edit: "Edit", select: "Select", fill: "Fill"};

function arcBlank(rows, cols) {
  return Array.from({length: rows}, () => Array(cols).fill(0));
}

function arcCheckGrid(grid, where) {
  if (!Array.isArray(grid) || grid.length < 1 || grid.length > ARC_MAX_SIZE) {
    throw new Error(`${where} must be a list of 1 to ${ARC_MAX_SIZE} rows`);
  }
  const width = Array.isArray(grid[0]) ? grid[0].length : 0;
  if (width < 1 || width > ARC_MAX_SIZE) throw new Error(`${where} rows must hold 1 to ${ARC_MAX_SIZE} cells`);
  grid.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== width) throw new Error(`${where} row ${r + 1} must hold ${width} cells, as the first row does`);
    if (row.some((v) => !Number.isInteger(v) || v < 0 || v > 9)) throw new Error(`${where} row ${r + 1} holds something other than a colour 0-9`);
  });
  return grid.map((row) => row.slice());
}

function arcCheckTask(task) {
  // A copy of the task in the API's shape, or an Error saying what is wrong and where.
  if (!task || typeof task !== "object" || Array.isArray(task)) throw new Error('an ARC task is a JSON object with "train" and "test"');
  const list = (value, name, most) => {
    if (!Array.isArray(value) || value.length < 1 || value.length > most) throw new Error(`"${name}" must be a list of 1 to ${most} items`);
    return value;
  };
  const train = list(task.train, "train", ARC_MAX_PAIRS).map((pair, i) => ({
    input: arcCheckGrid(pair && pair.input, `train[${i}].input`),
    output: arcCheckGrid(pair && pair.output, `train[${i}].output`),
  }));
  const test = list(task.test, "test", ARC_MAX_TESTS).map((pair, i) => {
    const item = {input: arcCheckGrid(pair && pair.input, `test[${i}].input`)};
    if (pair.output != null) item.output = arcCheckGrid(pair.output, `test[${i}].output`);
    return item;
  });
  const checked = {train, test};
  if (typeof task.task === "string" && task.task) checked.task = task.task;
  return checked;
}

function arcElement(tag, attributes = {}, children = []) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") element.textContent = value;
    else if (name === "className") element.className = value;
    else element.setAttribute(name, value);
  }
  element.append(...children);
  return element;
}

function arcButton(label, action, attributes = {}) {
  const button = arcElement("button", {type: "button", "data-action": action, ...attributes});
  button.textContent = label;
  return button;
}

class ArcEditor {
  static blankTask() {
    return {train: [{input: arcBlank(3, 3), output: arcBlank(3, 3)}], test: [{input: arcBlank(3, 3)}]};
  }

  constructor(container, textarea) {
    this.container = container;
    this.textarea = textarea;
    this.task = ArcEditor.blankTask();
    this.source = "";  // where a picked task came from, for display only
    this.colour = 1;
    this.tool = "edit";
    this.active = "train.0.input";
    this.cursor = [0, 0];
    this.selection = null;  // {key, r0, c0, r1, c1}, corners in the order they were set
    this.clipboard = null;
    this.undoStack = [];
    this.redoStack = [];
    this.drag = null;
    this.written = null;  // the text this editor last wrote, so reading it back changes nothing
    this.grids = new Map();  // grid key -> its element
    this.search = {offset: 0, sequence: 0};  // the library list: how many are shown, which search is current
    this.build();
    this.render();
    textarea.addEventListener("input", () => this.readText());
    this.readText();
  }

  // ---- the task and the textarea ----

  loadTask(task, source = "") {
    // Throws an Error saying what is wrong when `task` is not an ARC task; undo brings back the old one.
    const checked = arcCheckTask(task);
    this.change(() => {
      this.task = checked;
      this.source = source;
      this.active = "train.0.input";
      this.cursor = [0, 0];
      this.selection = null;
    }, {structure: true});
  }

  toTask() {
    return structuredClone(this.task);
  }

  readText() {
    // The editor works only while shown: the textarea holds other kinds of puzzle otherwise.
    if (this.container.hidden || this.textarea.value === this.written) return;
    const text = this.textarea.value.trim();
    try {
      const task = text ? arcCheckTask(JSON.parse(text)) : ArcEditor.blankTask();
      if (!text) this.source = "";
      if (JSON.stringify(task) !== JSON.stringify(this.task)) {
        this.record();
        this.task = task;
        this.selection = null;
        if (!this.grid(this.active)) this.active = "train.0.input";
        this.clampCursor();
      }
      // Text typed by hand keeps its layout (and caret); an empty box gets the blank task written in.
      if (text) this.written = this.textarea.value;
      else this.writeText();
      this.render();
      this.say("");
    } catch (error) {
      this.say(`The text is not an ARC task yet (${error.message}); the board keeps the last good one.`);
    }
  }

  writeText() {
    this.written = JSON.stringify(this.task);
    this.textarea.value = this.written;
  }

  grid(key) {
    const [section, index, side] = key.split(".");
    const item = this.task[section] && this.task[section][Number(index)];
    return item ? item[side] : undefined;
  }

  setGrid(key, grid) {
    const [section, index, side] = key.split(".");
    this.task[section][Number(index)][side] = grid;
  }

  record() {
    this.undoStack.push(JSON.stringify({task: this.task, source: this.source}));
    if (this.undoStack.length > ARC_UNDO_DEPTH) this.undoStack.shift();
    this.redoStack = [];
  }

  change(mutate, {key = null, structure = false, record = true} = {}) {
    // Every edit goes through here: one undo step, the text rewritten, then the board redrawn.
    if (record) this.record();
    mutate();
    let rebuild = structure;
    if (key && key.startsWith("test.") && key.endsWith(".input")) {
      // A changed test input no longer has the answer that came with it.
      const test = this.task.test[Number(key.split(".")[1])];
      if ("output" in test) { delete test.output; rebuild = true; }
    }
    this.writeText();
    if (rebuild) this.render();
    else if (key) this.refresh(key);
  }

  restore(from, to) {
    if (!from.length) return;
    to.push(JSON.stringify({task: this.task, source: this.source}));
    ({task: this.task, source: this.source} = JSON.parse(from.pop()));
    this.selection = null;
    if (!this.grid(this.active)) this.active = "train.0.input";
    this.clampCursor();
    this.writeText();
    this.render();
  }

  clampCursor() {
    const grid = this.grid(this.active);
    this.cursor = [Math.min(this.cursor[0], grid.length - 1), Math.min(this.cursor[1], grid[0].length - 1)];
  }

  // ---- edits ----

  paint(key, r, c, options) {
    if (this.grid(key)[r][c] === this.colour) return;
    this.change(() => { this.grid(key)[r][c] = this.colour; }, {key, ...options});
  }

  fill(key, r, c) {
    const grid = this.grid(key);
    const from = grid[r][c];
    if (from === this.colour) return;
    this.change(() => {
      const queue = [[r, c]];
      grid[r][c] = this.colour;
      while (queue.length) {
        const [y, x] = queue.pop();
        for (const [dy, dx] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
          const ny = y + dy;
          const nx = x + dx;
          if (grid[ny] && grid[ny][nx] === from) { grid[ny][nx] = this.colour; queue.push([ny, nx]); }
        }
      }
    }, {key});
  }

  resize(key, rows, cols) {
    rows = Math.max(1, Math.min(ARC_MAX_SIZE, Math.round(rows) || 1));
    cols = Math.max(1, Math.min(ARC_MAX_SIZE, Math.round(cols) || 1));
    const grid = this.grid(key);
    if (grid.length === rows && grid[0].length === cols) return this.render();  // show the clamped size again
    this.change(() => {
      this.setGrid(key, Array.from({length: rows}, (_, r) => Array.from({length: cols}, (_, c) => (grid[r] && grid[r][c]) || 0)));
    }, {key, structure: true});
    if (this.selection && this.selection.key === key) this.selection = null;
    if (key === this.active) this.clampCursor();
    this.render();
  }

  reset(key) {
    const grid = this.grid(key);
    if (grid.every((row) => row.every((v) => v === 0))) return;
    this.change(() => this.setGrid(key, arcBlank(grid.length, grid[0].length)), {key, structure: true});
  }

  copyInputToOutput(index) {
    this.change(() => { this.task.train[index].output = structuredClone(this.task.train[index].input); }, {structure: true});
  }

  selectedBox() {
    const s = this.selection;
    return s && {key: s.key, top: Math.min(s.r0, s.r1), left: Math.min(s.c0, s.c1), bottom: Math.max(s.r0, s.r1), right: Math.max(s.c0, s.c1)};
  }

  copy() {
    const box = this.selectedBox();
    if (!box) return this.say("Select cells first (the Select tool, or Shift and the arrow keys).");
    this.clipboard = this.grid(box.key).slice(box.top, box.bottom + 1).map((row) => row.slice(box.left, box.right + 1));
    this.say(`Copied ${this.clipboard[0].length}×${this.clipboard.length} cells; V pastes them at the cursor.`);
  }

  paste() {
    if (!this.clipboard) return this.say("Nothing copied yet: select cells and press C.");
    const key = this.active;
    const [top, left] = this.cursor;
    this.change(() => {
      const grid = this.grid(key);
      this.clipboard.forEach((row, r) => row.forEach((value, c) => {
        if (grid[top + r] && left + c < grid[0].length) grid[top + r][left + c] = value;
      }));
    }, {key});
    this.say(`Pasted at row ${top + 1}, column ${left + 1}.`);
  }

  addPair() {
    if (this.task.train.length >= ARC_MAX_PAIRS) return;
    this.change(() => this.task.train.push({input: arcBlank(3, 3), output: arcBlank(3, 3)}), {structure: true});
  }

  addTest() {
    if (this.task.test.length >= ARC_MAX_TESTS) return;
    this.change(() => this.task.test.push({input: arcBlank(3, 3)}), {structure: true});
  }

  remove(section, index) {
    if (this.task[section].length <= 1) return;
    this.change(() => this.task[section].splice(index, 1), {structure: true});
    if (!this.grid(this.active)) { this.active = `${section}.0.input`; this.cursor = [0, 0]; this.render(); }
  }

  move(index, by) {
    const to = index + by;
    const pairs = this.task.train;
    if (to < 0 || to >= pairs.length) return;
    this.change(() => { [pairs[index], pairs[to]] = [pairs[to], pairs[index]]; }, {structure: true});
  }

  // ---- the library ----

  async findTasks(more = false) {
    const query = this.searchBox.value.trim();
    const dataset = this.datasetSelect.value;
    const offset = more ? this.search.offset : 0;
    const sequence = ++this.search.sequence;  // answers to older searches are dropped
    const params = new URLSearchParams({q: query, limit: String(ARC_PAGE), offset: String(offset)});
    if (dataset) params.set("dataset", dataset);
    let page;
    try {
      const response = await fetch(`/api/v1/arc-tasks/?${params}`);
      page = await response.json();
      if (!response.ok) throw new Error(page.error || `the server answered ${response.status}`);
    } catch (error) {
      if (sequence === this.search.sequence) this.libraryInfo.textContent = `Could not search the library: ${error.message}`;
      return;
    }
    if (sequence !== this.search.sequence) return;
    this.search.offset = offset + page.results.length;
    const items = page.results.map((task) => {
      const sizes = task.train.map((pair) => `${pair.input[1]}×${pair.input[0]}→${pair.output[1]}×${pair.output[0]}`);
      const button = arcButton("", "pick", {className: "arc-library-item", "data-dataset": task.dataset, "data-name": task.name});
      button.append(arcElement("b", {text: task.name}),
        arcElement("span", {className: "muted", text: ` ${ARC_DATASETS[task.dataset]} ${task.split} · ${task.train.length} pairs · ${sizes.slice(0, 2).join(", ")}${sizes.length > 2 ? ", …" : ""}`}));
      return arcElement("li", {}, [button]);
    });
    if (more) this.libraryList.append(...items);
    else this.libraryList.replaceChildren(...items);
    this.libraryInfo.textContent = page.count ? `${page.count} task${page.count === 1 ? "" : "s"} match.` : "No task has that in its name.";
    this.moreButton.hidden = this.search.offset >= page.count;
  }

  async pick(dataset, name) {
    this.libraryInfo.textContent = `Loading ${name}…`;
    try {
      const response = await fetch(`/api/v1/arc-tasks/${encodeURIComponent(dataset)}/${encodeURIComponent(name)}/`);
      const task = await response.json();
      if (!response.ok) throw new Error(task.error || `the server answered ${response.status}`);
      this.loadTask({train: task.train, test: task.test, task: task.name}, `${ARC_DATASETS[task.dataset]} ${task.split}`);
      this.libraryInfo.textContent = `Loaded ${task.name}.`;
    } catch (error) {
      this.libraryInfo.textContent = `Could not load ${name}: ${error.message}`;
    }
  }

  // ---- files ----

  importFile(file) {
    file.text().then((text) => {
      this.loadTask(JSON.parse(text), file.name);
      this.say(`Imported ${file.name}.`);
    }).catch((error) => this.say(`Could not import ${file.name}: ${error.message}`));
  }

  exportFile() {
    const blob = new Blob([JSON.stringify(this.task, null, 1)], {type: "application/json"});
    const link = arcElement("a", {href: URL.createObjectURL(blob), download: `${this.task.task || "arc-task"}.json`});
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 0);
  }

  // ---- building the page ----

  build() {
    const c = this.container;
    c.classList.add("arc-editor");
    this.searchBox = arcElement("input", {type: "search", id: "arc-library-search", placeholder: "Task name, e.g. 007bbfb7", "aria-label": "Search ARC tasks by name", autocomplete: "off"});
    this.datasetSelect = arcElement("select", {"aria-label": "ARC dataset"}, [
      arcElement("option", {value: "", text: "All tasks"}),
      ...Object.entries(ARC_DATASETS).map(([value, text]) => arcElement("option", {value, text})),
    ]);
    this.libraryInfo = arcElement("p", {className: "muted arc-library-info", "aria-live": "polite", text: "Search the ARC-AGI-1 and ARC-AGI-2 tasks, then pick one to load it."});
    this.libraryList = arcElement("ul", {className: "arc-library-results", "aria-label": "ARC tasks found"});
    this.moreButton = arcButton("More tasks", "more", {hidden: ""});
    const library = arcElement("details", {className: "arc-library", open: ""}, [
      arcElement("summary", {text: "ARC task library"}),
      arcElement("div", {className: "row"}, [this.searchBox, this.datasetSelect]),
      this.libraryInfo, this.libraryList, this.moreButton,
    ]);

    this.palette = arcElement("div", {className: "arc-palette", role: "radiogroup", "aria-label": "Colour (keys 0-9)"},
      ARC_COLOUR_NAMES.map((name, value) => arcButton(String(value), "colour", {
        role: "radio", "data-colour": String(value), "aria-label": `Colour ${value}: ${name}`, title: `${name} (key ${value})`,
        className: `arc-swatch${ARC_DARK_COLOURS.has(value) ? " dark" : ""}`, style: `background: ${ARC_COLOURS[value]}`,
      })));
    this.toolButtons = arcElement("div", {className: "arc-tools", role: "radiogroup", "aria-label": "Tool"},
      Object.entries(ARC_TOOLS).map(([tool, label]) => arcButton(label, "tool", {role: "radio", "data-tool": tool})));
    this.fileInput = arcElement("input", {type: "file", accept: ".json,application/json", hidden: "", "aria-label": "ARC task JSON file"});
    this.undoButton = arcButton("Undo", "undo", {title: "Ctrl+Z"});
    this.redoButton = arcButton("Redo", "redo", {title: "Ctrl+Y"});
    const toolbar = arcElement("div", {className: "arc-toolbar"}, [
      this.palette, this.toolButtons,
      arcElement("div", {className: "arc-actions"}, [
        this.undoButton, this.redoButton, arcButton("Copy", "copy", {title: "C: copy the selection"}),
        arcButton("Paste", "paste", {title: "V: paste at the cursor"}), arcButton("Import JSON", "import"),
        arcButton("Export JSON", "export"), this.fileInput,
      ]),
    ]);
    this.nameLine = arcElement("p", {className: "arc-task-name"});
    this.pairsBox = arcElement("div", {className: "arc-items"});
    this.testsBox = arcElement("div", {className: "arc-items"});
    this.addPairButton = arcButton("Add pair", "add-pair");
    this.addTestButton = arcButton("Add test input", "add-test");
    this.status = arcElement("p", {className: "muted arc-status", "aria-live": "polite"});
    c.replaceChildren(library, toolbar, this.nameLine,
      arcElement("h3", {text: "Demonstration pairs"}), this.pairsBox, arcElement("div", {className: "row"}, [this.addPairButton]),
      arcElement("h3", {text: "Test inputs"}), this.testsBox, arcElement("div", {className: "row"}, [this.addTestButton]),
      this.status);

    c.addEventListener("click", (event) => this.onClick(event));
    c.addEventListener("change", (event) => this.onInputChange(event));
    c.addEventListener("keydown", (event) => this.onKey(event));
    c.addEventListener("pointerdown", (event) => this.onPointerDown(event));
    c.addEventListener("focusin", (event) => {
      const key = event.target.classList.contains("arc-grid") && event.target.dataset.key;
      if (key && key !== this.active) this.setCursor(key, 0, 0);
    });
    window.addEventListener("pointermove", (event) => this.onPointerMove(event));
    window.addEventListener("pointerup", () => { this.drag = null; });
    window.addEventListener("pointercancel", () => { this.drag = null; });
    let typing = null;
    this.searchBox.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(() => this.findTasks(), 200); });
    this.searchBox.addEventListener("focus", () => { if (!this.libraryList.children.length) this.findTasks(); });
    this.fileInput.addEventListener("change", () => { if (this.fileInput.files[0]) this.importFile(this.fileInput.files[0]); this.fileInput.value = ""; });
  }

  panel(key, label) {
    const grid = this.grid(key);
    const side = key.split(".")[2];
    const size = (which, value) => arcElement("label", {}, [
      `${which} `, arcElement("input", {type: "number", min: "1", max: String(ARC_MAX_SIZE), value: String(value), "data-size": which.toLowerCase(), "data-key": key, "aria-label": `${label} ${which.toLowerCase()}`}),
    ]);
    const board = arcElement("div", {className: "arc-grid", tabindex: "0", role: "grid", "data-key": key,
      "aria-label": `${label}, ${grid[0].length} wide and ${grid.length} high: arrows move, Enter paints`});
    this.grids.set(key, board);
    this.refresh(key);
    return arcElement("div", {className: "arc-panel"}, [
      arcElement("div", {className: "arc-panel-head"}, [
        arcElement("b", {text: side[0].toUpperCase() + side.slice(1)}), size("Width", grid[0].length), size("Height", grid.length),
        arcButton("Reset", "reset", {"data-key": key, "aria-label": `Reset ${label}`, title: "Make every cell black"}),
      ]),
      board,
    ]);
  }

  focusedSelector() {
    // What has the keyboard focus, by its data attributes, to give it back after the board is rebuilt.
    const element = document.activeElement;
    if (!this.container.contains(element)) return null;
    const parts = ["action", "index", "key", "size", "tool", "colour"].filter((name) => element.dataset[name] !== undefined)
      .map((name) => `[data-${name}="${element.dataset[name]}"]`);
    return parts.length ? `${element.tagName.toLowerCase()}${parts.join("")}` : null;
  }

  render() {
    const focused = this.focusedSelector();
    this.grids.clear();
    const pairs = this.task.train;
    this.pairsBox.replaceChildren(...pairs.map((pair, i) => arcElement("section", {className: "arc-item", "aria-label": `Pair ${i + 1}`}, [
      arcElement("div", {className: "arc-item-head"}, [
        arcElement("h4", {text: `Pair ${i + 1}`}),
        arcButton("↑", "move-up", {"data-index": String(i), "aria-label": `Move pair ${i + 1} up`, ...(i === 0 ? {disabled: ""} : {})}),
        arcButton("↓", "move-down", {"data-index": String(i), "aria-label": `Move pair ${i + 1} down`, ...(i === pairs.length - 1 ? {disabled: ""} : {})}),
        arcButton("Copy input to output", "copy-input", {"data-index": String(i), "aria-label": `Copy input to output of pair ${i + 1}`}),
        arcButton("Remove", "remove-pair", {"data-index": String(i), "aria-label": `Remove pair ${i + 1}`, ...(pairs.length === 1 ? {disabled: ""} : {})}),
      ]),
      arcElement("div", {className: "arc-pair"}, [this.panel(`train.${i}.input`, `Pair ${i + 1} input`), this.panel(`train.${i}.output`, `Pair ${i + 1} output`)]),
    ])));
    const tests = this.task.test;
    this.testsBox.replaceChildren(...tests.map((test, i) => {
      const expected = test.output ? [arcElement("details", {className: "arc-expected"}, [
        arcElement("summary", {text: "Expected output (the answer)"}), this.preview(test.output)])] : [];
      return arcElement("section", {className: "arc-item", "aria-label": `Test ${i + 1}`}, [
        arcElement("div", {className: "arc-item-head"}, [
          arcElement("h4", {text: `Test ${i + 1}`}),
          arcButton("Remove", "remove-test", {"data-index": String(i), "aria-label": `Remove test ${i + 1}`, ...(tests.length === 1 ? {disabled: ""} : {})}),
        ]),
        arcElement("div", {className: "arc-pair"}, [this.panel(`test.${i}.input`, `Test ${i + 1} input`), ...expected]),
      ]);
    }));
    this.addPairButton.disabled = pairs.length >= ARC_MAX_PAIRS;
    this.addTestButton.disabled = tests.length >= ARC_MAX_TESTS;
    this.undoButton.disabled = !this.undoStack.length;
    this.redoButton.disabled = !this.redoStack.length;
    this.palette.querySelectorAll("[data-colour]").forEach((b) => b.setAttribute("aria-checked", String(Number(b.dataset.colour) === this.colour)));
    this.toolButtons.querySelectorAll("[data-tool]").forEach((b) => b.setAttribute("aria-checked", String(b.dataset.tool === this.tool)));
    this.container.dataset.tool = this.tool;
    const name = this.task.task;
    this.nameLine.replaceChildren(...(name ? [`Task `, arcElement("b", {text: name}), this.source ? ` (${this.source})` : "", " ",
      arcButton("Forget the name", "forget-name", {title: "Submit without naming an ARC task"})] : ["A task of your own."]));
    const refocus = focused && this.container.querySelector(focused);
    if (refocus) refocus.focus({preventScroll: true});
  }

  preview(grid) {
    const board = arcElement("div", {className: "arc-grid arc-preview", "aria-label": `${grid[0].length} by ${grid.length} grid`});
    board.style.setProperty("--columns", grid[0].length);
    board.append(...grid.flat().map((v) => arcElement("div", {className: "arc-cell", style: `background: ${ARC_COLOURS[v]}`})));
    return board;
  }

  refresh(key) {
    // Redraw one grid's cells in place, so that a drag or the keyboard focus is not lost.
    const board = this.grids.get(key);
    const grid = this.grid(key);
    if (!board || !grid) return;
    const cols = grid[0].length;
    board.style.setProperty("--columns", cols);
    if (board.children.length !== grid.length * cols) {
      board.replaceChildren(...grid.flat().map((_, i) => arcElement("div", {className: "arc-cell", "data-r": String(Math.floor(i / cols)), "data-c": String(i % cols)})));
    }
    const box = this.selectedBox();
    const isActive = key === this.active;
    board.classList.toggle("active", isActive);
    grid.forEach((row, r) => row.forEach((value, c) => {
      const cell = board.children[r * cols + c];
      cell.style.background = ARC_COLOURS[value];
      cell.classList.toggle("cursor", isActive && r === this.cursor[0] && c === this.cursor[1]);
      cell.classList.toggle("picked", Boolean(box && box.key === key && r >= box.top && r <= box.bottom && c >= box.left && c <= box.right));
    }));
    this.undoButton.disabled = !this.undoStack.length;
    this.redoButton.disabled = !this.redoStack.length;
  }

  setCursor(key, r, c) {
    const previous = this.active;
    this.active = key;
    this.cursor = [r, c];
    if (previous !== key) this.refresh(previous);
    this.refresh(key);
  }

  // ---- input ----

  cellAt(target) {
    const cell = target && target.closest && target.closest(".arc-cell[data-r]");
    const board = cell && cell.parentElement;
    if (!cell || !this.container.contains(board) || !board.dataset.key) return null;
    return {key: board.dataset.key, board, r: Number(cell.dataset.r), c: Number(cell.dataset.c)};
  }

  useTool(key, r, c) {
    if (this.tool === "edit") this.paint(key, r, c);
    else if (this.tool === "fill") this.fill(key, r, c);
    else { this.selection = {key, r0: r, c0: c, r1: r, c1: c}; this.refresh(key); }
  }

  onPointerDown(event) {
    const at = this.cellAt(event.target);
    if (!at || event.button > 0) return;
    event.preventDefault();  // no text selection, no scrolling while drawing
    at.board.focus({preventScroll: true});
    const selected = this.selection && this.selection.key;
    if (selected && selected !== at.key) { this.selection = null; this.refresh(selected); }  // one selection, in one grid
    this.setCursor(at.key, at.r, at.c);
    this.useTool(at.key, at.r, at.c);
    this.drag = this.tool === "fill" ? null : {key: at.key, started: false};
  }

  onPointerMove(event) {
    if (!this.drag) return;
    const at = this.cellAt(document.elementFromPoint(event.clientX, event.clientY));
    if (!at || at.key !== this.drag.key) return;
    if (this.tool === "select") {
      Object.assign(this.selection, {r1: at.r, c1: at.c});
      this.refresh(at.key);
    } else if (this.grid(at.key)[at.r][at.c] !== this.colour) {
      this.paint(at.key, at.r, at.c, {record: false});  // one drag is one undo step
    }
  }

  onClick(event) {
    const button = event.target.closest("button[data-action]");
    if (!button || button.disabled) return;
    const index = Number(button.dataset.index);
    const actions = {
      colour: () => this.pickColour(Number(button.dataset.colour)),
      tool: () => { this.tool = button.dataset.tool; this.render(); },
      undo: () => this.restore(this.undoStack, this.redoStack),
      redo: () => this.restore(this.redoStack, this.undoStack),
      copy: () => this.copy(),
      paste: () => this.paste(),
      import: () => this.fileInput.click(),
      export: () => this.exportFile(),
      "add-pair": () => this.addPair(),
      "add-test": () => this.addTest(),
      "remove-pair": () => this.remove("train", index),
      "remove-test": () => this.remove("test", index),
      "move-up": () => this.move(index, -1),
      "move-down": () => this.move(index, 1),
      "copy-input": () => this.copyInputToOutput(index),
      reset: () => this.reset(button.dataset.key),
      "forget-name": () => this.change(() => { delete this.task.task; this.source = ""; }, {structure: true}),
      pick: () => this.pick(button.dataset.dataset, button.dataset.name),
      more: () => this.findTasks(true),
    };
    actions[button.dataset.action]();
  }

  onInputChange(event) {
    const input = event.target;
    if (input.dataset.size) {
      const grid = this.grid(input.dataset.key);
      const value = Number(input.value);
      this.resize(input.dataset.key, input.dataset.size === "height" ? value : grid.length, input.dataset.size === "width" ? value : grid[0].length);
    } else if (input === this.datasetSelect) {
      this.findTasks();
    }
  }

  pickColour(colour) {
    this.colour = colour;
    this.palette.querySelectorAll("[data-colour]").forEach((b) => b.setAttribute("aria-checked", String(Number(b.dataset.colour) === colour)));
  }

  onKey(event) {
    const target = event.target;
    const key = event.key;
    if (["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName)) {
      if (key === "Enter") {  // Enter in a box of the editor must not submit the playground's form
        event.preventDefault();
        if (target === this.searchBox) this.findTasks();
        else if (target.dataset.size) target.dispatchEvent(new Event("change", {bubbles: true}));
      }
      return;
    }
    const command = event.ctrlKey || event.metaKey;
    if (command && key.toLowerCase() === "z" && !event.shiftKey) this.restore(this.undoStack, this.redoStack);
    else if (command && (key.toLowerCase() === "y" || (key.toLowerCase() === "z" && event.shiftKey))) this.restore(this.redoStack, this.undoStack);
    else if (event.altKey || (command && !["c", "v"].includes(key.toLowerCase()))) return;
    else if (/^[0-9]$/.test(key)) this.pickColour(Number(key));
    else if (key.toLowerCase() === "c") this.copy();  // C or Ctrl+C
    else if (key.toLowerCase() === "v") this.paste();
    else if (key === "Escape" && this.selection) { const was = this.selection.key; this.selection = null; this.refresh(was); }
    else if (target.classList.contains("arc-grid")) return this.onGridKey(event, target.dataset.key);
    else return;
    event.preventDefault();
  }

  onGridKey(event, key) {
    const moves = {ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1]};
    const grid = this.grid(key);
    const [r, c] = this.cursor;
    if (event.key in moves) {
      const [dr, dc] = moves[event.key];
      const nr = Math.max(0, Math.min(grid.length - 1, r + dr));
      const nc = Math.max(0, Math.min(grid[0].length - 1, c + dc));
      if (event.shiftKey) {  // Shift and arrows stretch a selection from where the cursor was
        if (!this.selection || this.selection.key !== key) this.selection = {key, r0: r, c0: c, r1: r, c1: c};
        Object.assign(this.selection, {r1: nr, c1: nc});
      }
      this.setCursor(key, nr, nc);
    } else if (event.key === "Enter" || event.key === " ") {
      this.useTool(key, r, c);
    } else {
      return;
    }
    event.preventDefault();
  }

  say(message) {
    this.status.textContent = message;
  }
}
