// A Sudoku board you type into: click or arrow keys to move, 1-9 to set, 0 / . / Backspace to clear,
// Ctrl+Z / Ctrl+Y to undo and redo; on a touch screen the digit pad does what the keys do. Cells that
// break a rule (same digit twice in a row, column or box) are marked. The board and a textarea (81
// characters, 9 per line) edit the same puzzle. Its tools: a random puzzle of a chosen difficulty from
// the server, and the puzzle as one line of 81 characters to import or export (copied to the clipboard).
"use strict";

function sudokuLine(raw) {
  // 81 characters ('.' or '0' for a blank) from text with any spacing; throws an Error saying what is wrong.
  const symbols = raw.replace(/\s+/g, "");
  const bad = symbols.search(/[^0-9.]/);
  if (bad >= 0) throw new Error(`'${symbols[bad]}' at position ${bad + 1} is not a digit or '.'`);
  if (symbols.length !== 81) throw new Error(`a Sudoku has 81 cells; this has ${symbols.length}`);
  return symbols.replace(/0/g, ".");
}

async function sudokuSolutionProblem(grid, csrfToken) {
  // "" when the puzzle has exactly one solution, else what to tell the person (the server counts them).
  const response = await fetch("/api/v1/sudoku/check/", {
    method: "POST",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken},
    body: JSON.stringify({grid}),
  });
  const answer = await response.json();
  if (!response.ok) return answer.error || `The server answered ${response.status}`;
  if (answer.solutions === 0) return "This Sudoku has no solution: some clue contradicts the others. Nothing was sent.";
  if (answer.solutions > 1) return "This Sudoku has more than one solution: add clues until only one is left. Nothing was sent.";
  return "";
}

class SudokuEditor {
  constructor(board, textarea, tools) {
    this.board = board;
    this.textarea = textarea;
    this.tools = tools;
    this.cells = Array(81).fill(0);
    this.selected = 0;
    this.undoStack = [];
    this.redoStack = [];
    board.tabIndex = 0;
    board.setAttribute("role", "grid");
    board.setAttribute("aria-label", "Sudoku board: arrow keys move, digits fill, 0 clears");
    board.addEventListener("keydown", (event) => this.onKey(event));
    board.addEventListener("click", (event) => {
      const index = Number(event.target.dataset.index);
      if (!Number.isNaN(index)) this.select(index);
    });
    textarea.addEventListener("input", () => this.readText());
    this.buildPad(tools.querySelector(".digit-pad"));
    tools.addEventListener("click", (event) => {
      const action = event.target.closest("button")?.dataset.action;
      if (action === "random") this.random();
      if (action === "import") this.importLine();
      if (action === "export") this.exportLine();
    });
    tools.querySelector("[name=sudoku-line]").addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); this.importLine(); }  // not the form's submit
    });
    this.readText();
  }

  readText() {
    const symbols = this.textarea.value.replace(/\s+/g, "");
    if (symbols.length !== 81) return this.render();  // half-typed text: keep the board as it is
    this.cells = Array.from(symbols, (ch) => (/[1-9]/.test(ch) ? Number(ch) : 0));
    this.render();
  }

  writeText() {
    this.textarea.value = this.toLine().match(/.{9}/g).join("\n");
  }

  toLine() {
    return this.cells.map((v) => (v ? String(v) : ".")).join("");
  }

  load(line) {
    // A whole puzzle at once (import, random, gallery, share link): one undo step.
    this.undoStack.push(this.cells.slice());
    this.redoStack = [];
    this.cells = Array.from(sudokuLine(line), (ch) => (ch === "." ? 0 : Number(ch)));
    this.writeText();
    this.render();
  }

  set(index, value) {
    if (this.cells[index] === value) return;
    this.undoStack.push(this.cells.slice());
    this.redoStack = [];
    this.cells[index] = value;
    this.writeText();
    this.render();
  }

  restore(from, to) {
    if (!from.length) return;
    to.push(this.cells.slice());
    this.cells = from.pop();
    this.writeText();
    this.render();
  }

  select(index) {
    this.selected = Math.max(0, Math.min(80, index));
    this.render();
    this.board.focus();
  }

  enter(value) {
    this.set(this.selected, value);
    if (value) this.select(this.selected + 1);
  }

  onKey(event) {
    const moves = {ArrowLeft: -1, ArrowRight: 1, ArrowUp: -9, ArrowDown: 9};
    const key = event.key;
    if ((event.ctrlKey || event.metaKey) && key.toLowerCase() === "z") this.restore(this.undoStack, this.redoStack);
    else if ((event.ctrlKey || event.metaKey) && key.toLowerCase() === "y") this.restore(this.redoStack, this.undoStack);
    else if (key in moves) this.select(this.selected + moves[key]);
    else if (/^[1-9]$/.test(key)) this.enter(Number(key));
    else if (["0", ".", "Backspace", "Delete", " "].includes(key)) this.enter(0);
    else return;
    event.preventDefault();
  }

  buildPad(pad) {
    // Phones show no keyboard for a board, so the digits are buttons too.
    for (const value of [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = value ? String(value) : "⌫";
      button.setAttribute("aria-label", value ? `Enter ${value}` : "Clear the cell");
      button.addEventListener("click", () => this.enter(value));
      pad.appendChild(button);
    }
  }

  say(message) {
    this.tools.querySelector(".sudoku-info").textContent = message;
  }

  importLine() {
    try {
      this.load(this.tools.querySelector("[name=sudoku-line]").value);
      this.say("Imported.");
    } catch (error) {
      this.say(`Not imported: ${error.message}.`);
    }
  }

  async exportLine() {
    const line = this.toLine();
    const field = this.tools.querySelector("[name=sudoku-line]");
    field.value = line;
    field.select();
    try {
      await navigator.clipboard.writeText(line);
      this.say("Copied the 81 characters to the clipboard.");
    } catch (error) {  // no clipboard access (an old browser, or not allowed): the selected text is there
      this.say("The 81 characters are selected in the box: copy them from there.");
    }
  }

  async random() {
    const difficulty = this.tools.querySelector("[name=sudoku-difficulty]").value;
    const button = this.tools.querySelector("[data-action=random]");
    button.disabled = true;
    this.say(`Making a ${difficulty} puzzle…`);
    try {
      const response = await fetch(`/api/v1/examples/sudoku/?difficulty=${encodeURIComponent(difficulty)}`);
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.error || `the server answered ${response.status}`);
      this.load(answer.grid);
      this.say(`A random ${difficulty} puzzle: a backtracking solver needs ${answer.guesses} guess${answer.guesses === 1 ? "" : "es"}.`);
    } catch (error) {
      this.say(`No random puzzle: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  }

  conflicts() {
    const bad = new Set();
    const groups = [];
    for (let i = 0; i < 9; i += 1) {
      groups.push([...Array(9).keys()].map((j) => i * 9 + j));  // row
      groups.push([...Array(9).keys()].map((j) => j * 9 + i));  // column
      const top = Math.floor(i / 3) * 27 + (i % 3) * 3;
      groups.push([...Array(9).keys()].map((j) => top + Math.floor(j / 3) * 9 + (j % 3)));  // box
    }
    for (const group of groups) {
      const seen = new Map();
      for (const index of group) {
        const value = this.cells[index];
        if (!value) continue;
        if (seen.has(value)) { bad.add(index); bad.add(seen.get(value)); }
        else seen.set(value, index);
      }
    }
    return bad;
  }

  render() {
    const rows = [...Array(9).keys()].map((r) => this.cells.slice(r * 9, r * 9 + 9));
    drawGrid(this.board, "sudoku", rows);
    const bad = this.conflicts();
    this.board.querySelectorAll(".cell").forEach((cell, index) => {
      cell.dataset.index = String(index);
      cell.classList.toggle("selected", index === this.selected);
      cell.classList.toggle("conflict", bad.has(index));
    });
    this.board.dataset.conflicts = String(bad.size);
  }
}
