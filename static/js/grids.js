// Drawing a puzzle grid (Sudoku digits, maze cells, ARC colours) into a container element.
"use strict";

const ARC_COLOURS = ["#000000", "#0074D9", "#FF4136", "#2ECC40", "#FFDC00", "#AAAAAA", "#F012BE", "#FF851B", "#7FDBFF", "#870C25"];
const MAZE_CLASSES = {"#": "wall", " ": "open", "S": "start", "G": "goal", "o": "path"};

function gridCells(kind, grid) {
  // Rows of cell values: numbers for Sudoku and ARC, characters for mazes (rows are strings).
  return kind === "maze" ? grid.map((row) => Array.from(row)) : grid;
}

function drawGrid(container, kind, grid, options = {}) {
  const rows = gridCells(kind, grid);
  const previous = options.previous ? gridCells(kind, options.previous) : null;
  const confidence = options.confidence || null;
  container.classList.remove("grid-sudoku", "grid-maze", "grid-arc");
  container.classList.add("grid", `grid-${kind}`);
  container.style.setProperty("--columns", rows.length ? rows[0].length : 0);
  container.replaceChildren();
  rows.forEach((row, r) => row.forEach((value, c) => {
    const cell = document.createElement("div");
    cell.className = "cell";
    if (kind === "sudoku") {
      cell.textContent = value === 0 ? "" : String(value);
      if (c % 3 === 2 && c !== 8) cell.classList.add("box-right");
      if (r % 3 === 2 && r !== 8) cell.classList.add("box-bottom");
    } else if (kind === "maze") {
      cell.classList.add(MAZE_CLASSES[value] || "open");
    } else {
      cell.style.background = ARC_COLOURS[value] || "#fff";
    }
    if (previous && previous[r] && previous[r][c] !== value) cell.classList.add("changed");
    if (confidence && confidence[r]) cell.style.opacity = String(0.35 + 0.65 * confidence[r][c]);
    container.appendChild(cell);
  }));
}
