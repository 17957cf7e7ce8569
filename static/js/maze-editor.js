// A maze board you draw on: drag to paint walls (starting on a wall erases instead), drag S or G to
// move them, Ctrl+Z / Ctrl+Y to undo and redo, width and height from 2 to 30. It shows the length of
// the shortest path from S to G, and edits the same puzzle as the textarea (rows of '#', ' ', 'S', 'G').
// Its tools: a random Maze-Hard style maze from the server, and the maze as a .txt file to import or export.
"use strict";

function mazeRows(raw) {
  // Rows of a maze from text; throws an Error saying what is wrong (the server checks the same rules).
  const rows = raw.replace(/\r/g, "").replace(/\n+$/, "").split("\n");
  if (rows.length > 30) throw new Error(`a maze has at most 30 rows; this has ${rows.length}`);
  rows.forEach((row, r) => {
    if (!row.length || row.length > 30) throw new Error(`row ${r + 1} has ${row.length} cells; use 1 to 30`);
    if (row.length !== rows[0].length) throw new Error(`row ${r + 1} has ${row.length} cells, row 1 has ${rows[0].length}`);
    const bad = row.search(/[^# SG]/);
    if (bad >= 0) throw new Error(`row ${r + 1}, column ${bad + 1}: '${row[bad]}' is not '#', ' ', 'S' or 'G'`);
  });
  for (const mark of ["S", "G"]) {
    const count = rows.join("").split(mark).length - 1;
    if (count !== 1) throw new Error(`a maze needs exactly one '${mark}'; this has ${count}`);
  }
  return rows;
}

class MazeEditor {
  constructor(board, textarea, sizeInputs, info, tools) {
    this.board = board;
    this.textarea = textarea;
    this.sizeInputs = sizeInputs;
    this.info = info;
    this.tools = tools;
    this.note = "";  // said after the path length: where the maze came from, or what went wrong
    this.rows = [];
    this.undoStack = [];
    this.redoStack = [];
    this.drag = null;
    board.addEventListener("pointerdown", (event) => this.onDown(event));
    board.addEventListener("pointerover", (event) => this.onOver(event));
    window.addEventListener("pointerup", () => { this.drag = null; });
    board.addEventListener("keydown", (event) => this.onKey(event));
    board.tabIndex = 0;
    textarea.addEventListener("input", () => this.readText());
    sizeInputs.forEach((input) => input.addEventListener("change", () => this.resize()));
    const file = tools.querySelector("input[type=file]");
    file.addEventListener("change", () => { if (file.files[0]) this.importFile(file.files[0]); file.value = ""; });
    tools.addEventListener("click", (event) => {
      const action = event.target.closest("button")?.dataset.action;
      if (action === "random") this.random();
      if (action === "import") file.click();
      if (action === "export") this.exportFile();
    });
  }

  load(raw, note = "") {
    // A whole maze at once (random, file, gallery, share link): one undo step.
    const rows = mazeRows(raw);
    this.note = note;
    this.change(() => { this.rows = rows.map((row) => Array.from(row)); });
    this.sizeInputs[0].value = String(this.rows[0].length);
    this.sizeInputs[1].value = String(this.rows.length);
    this.render();
  }

  say(note) {
    this.note = note;
    this.render();
  }

  async random() {
    const size = Math.max(2, Math.min(30, Number(this.sizeInputs[0].value) || 30));
    const button = this.tools.querySelector("[data-action=random]");
    button.disabled = true;
    try {
      const response = await fetch(`/api/v1/examples/maze/?size=${size}`);
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.error || `the server answered ${response.status}`);
      this.load(answer.grid.join("\n"), `A random ${size}×${size} maze (its shortest path is over ${answer.min_path} steps).`);
    } catch (error) {
      this.say(`No random maze: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  }

  async importFile(file) {
    try {
      this.load(await file.text(), `Imported ${file.name}.`);
    } catch (error) {
      this.say(`${file.name} is not a maze: ${error.message}.`);
    }
  }

  exportFile() {
    const text = this.rows.map((row) => row.join("")).join("\n") + "\n";
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], {type: "text/plain"}));
    link.download = `maze-${this.rows[0].length}x${this.rows.length}.txt`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  readText() {
    const rows = this.textarea.value.replace(/\n+$/, "").split("\n");
    if (!rows.length || rows.some((row) => row.length !== rows[0].length) || rows.length > 30 || rows[0].length > 30) return;
    this.rows = rows.map((row) => Array.from(row));
    this.sizeInputs[0].value = String(this.rows[0].length);
    this.sizeInputs[1].value = String(this.rows.length);
    this.render();
  }

  writeText() {
    this.textarea.value = this.rows.map((row) => row.join("")).join("\n");
  }

  change(mutate, {newUndoStep = true} = {}) {
    // One drag is one undo step: only its first change records the board as it was.
    if (newUndoStep) {
      this.undoStack.push(this.rows.map((row) => row.slice()));
      this.redoStack = [];
    }
    mutate();
    this.writeText();
    this.render();
  }

  restore(from, to) {
    if (!from.length) return;
    to.push(this.rows.map((row) => row.slice()));
    this.rows = from.pop();
    this.writeText();
    this.render();
  }

  resize() {
    const width = Math.max(2, Math.min(30, Number(this.sizeInputs[0].value) || 2));
    const height = Math.max(2, Math.min(30, Number(this.sizeInputs[1].value) || 2));
    this.change(() => {
      const grown = [...Array(height).keys()].map((r) => [...Array(width).keys()].map((c) => (this.rows[r] && this.rows[r][c]) || " "));
      for (const mark of ["S", "G"]) {  // a start or goal cut off by shrinking comes back in a corner
        if (!grown.some((row) => row.includes(mark))) grown[mark === "S" ? 0 : height - 1][mark === "S" ? 0 : width - 1] = mark;
      }
      this.rows = grown;
    });
  }

  cellAt(event) {
    const index = Number(event.target.dataset.index);
    if (Number.isNaN(index)) return null;
    const width = this.rows[0].length;
    return [Math.floor(index / width), index % width];
  }

  onDown(event) {
    const at = this.cellAt(event);
    if (!at) return;
    event.preventDefault();
    this.note = "";  // the board is the person's own now
    this.board.releasePointerCapture?.(event.pointerId);  // let pointerover reach the other cells (touch)
    const value = this.rows[at[0]][at[1]];
    if (value === "S" || value === "G") {
      this.drag = {move: value};
    } else {
      this.drag = {paint: value === "#" ? " " : "#"};
      this.change(() => { this.rows[at[0]][at[1]] = this.drag.paint; });
    }
  }

  onOver(event) {
    const at = this.cellAt(event);
    if (!this.drag || !at) return;
    const value = this.rows[at[0]][at[1]];
    if (this.drag.move) {
      if (value === "S" || value === "G") return;
      const mark = this.drag.move;
      this.change(() => {
        this.rows = this.rows.map((row) => row.map((v) => (v === mark ? " " : v)));
        this.rows[at[0]][at[1]] = mark;
      }, {newUndoStep: !this.drag.moved});
      this.drag.moved = true;
    } else if (value !== "S" && value !== "G" && value !== this.drag.paint) {
      this.change(() => { this.rows[at[0]][at[1]] = this.drag.paint; }, {newUndoStep: false});
    }
  }

  onKey(event) {
    const key = event.key.toLowerCase();
    if (!(event.ctrlKey || event.metaKey) || !["z", "y"].includes(key)) return;
    event.preventDefault();
    if (key === "z") this.restore(this.undoStack, this.redoStack);
    else this.restore(this.redoStack, this.undoStack);
  }

  shortestPath() {
    const height = this.rows.length;
    const width = this.rows[0].length;
    const find = (mark) => { for (let r = 0; r < height; r += 1) { const c = this.rows[r].indexOf(mark); if (c >= 0) return [r, c]; } return null; };
    const start = find("S");
    const goal = find("G");
    if (!start || !goal) return null;
    const distance = new Map([[start.join(), 0]]);
    const queue = [start];
    while (queue.length) {
      const [r, c] = queue.shift();
      if (r === goal[0] && c === goal[1]) return distance.get(`${r},${c}`);
      for (const [dr, dc] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
        const next = [r + dr, c + dc];
        if (next[0] < 0 || next[1] < 0 || next[0] >= height || next[1] >= width) continue;
        if (this.rows[next[0]][next[1]] === "#" || distance.has(next.join())) continue;
        distance.set(next.join(), distance.get(`${r},${c}`) + 1);
        queue.push(next);
      }
    }
    return null;
  }

  render() {
    if (!this.rows.length) return;
    drawGrid(this.board, "maze", this.rows.map((row) => row.join("")));
    this.board.querySelectorAll(".cell").forEach((cell, index) => { cell.dataset.index = String(index); });
    const length = this.shortestPath();
    this.info.textContent = length === null ? "No path from S to G yet." : `Shortest path: ${length} steps.`;
    // A model trained on a smaller field (e.g. the 10x10 demo) refuses larger mazes: say so before submitting.
    const field = Number(this.tools.dataset.activeField) || 30;
    if (this.rows.length > field || this.rows[0].length > field) {
      this.info.textContent += ` The active maze model takes mazes up to ${field}×${field}; make it smaller or pick another checkpoint.`;
    }
    this.tools.querySelector(".maze-note").textContent = this.note;
  }
}
