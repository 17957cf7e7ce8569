// A Sudoku board you type into: click or arrow keys to move, 1-9 to set, 0 / . / Backspace to clear,
// Ctrl+Z / Ctrl+Y to undo and redo. Cells that break a rule (same digit twice in a row, column or box)
// are marked. The board and a textarea (81 characters, 9 per line) edit the same puzzle.
"use strict";

class SudokuEditor {
  constructor(board, textarea) {
    this.board = board;
    this.textarea = textarea;
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
    this.readText();
  }

  readText() {
    const symbols = this.textarea.value.replace(/\s+/g, "");
    if (symbols.length !== 81) return this.render();  // half-typed text: keep the board as it is
    this.cells = Array.from(symbols, (ch) => (/[1-9]/.test(ch) ? Number(ch) : 0));
    this.render();
  }

  writeText() {
    const text = this.cells.map((v) => (v ? String(v) : ".")).join("");
    this.textarea.value = text.match(/.{9}/g).join("\n");
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

  onKey(event) {
    const moves = {ArrowLeft: -1, ArrowRight: 1, ArrowUp: -9, ArrowDown: 9};
    const key = event.key;
    if ((event.ctrlKey || event.metaKey) && key.toLowerCase() === "z") this.restore(this.undoStack, this.redoStack);
    else if ((event.ctrlKey || event.metaKey) && key.toLowerCase() === "y") this.restore(this.redoStack, this.undoStack);
    else if (key in moves) this.select(this.selected + moves[key]);
    else if (/^[1-9]$/.test(key)) { this.set(this.selected, Number(key)); this.select(this.selected + 1); }
    else if (["0", ".", "Backspace", "Delete", " "].includes(key)) this.set(this.selected, 0);
    else return;
    event.preventDefault();
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
