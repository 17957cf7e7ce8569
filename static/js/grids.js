// Drawing a puzzle grid (Sudoku digits, maze cells, ARC colours) into a container element.
"use strict";

const ARC_COLOURS = ["#000000", "#0074D9", "#FF4136", "#2ECC40", "#FFDC00", "#AAAAAA", "#F012BE", "#FF851B", "#7FDBFF", "#870C25"];
const MAZE_CLASSES = {"#": "wall", " ": "open", "S": "start", "G": "goal", "o": "path"};
// Confidence 0 → 1 as a colour (viridis stops): even in steps, readable in light and dark, and by the colour-blind.
const CONFIDENCE_STOPS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"];

function confidenceColour(p) {
  const x = Math.min(Math.max(p, 0), 1) * (CONFIDENCE_STOPS.length - 1);
  const i = Math.min(Math.floor(x), CONFIDENCE_STOPS.length - 2);
  const [a, b] = [CONFIDENCE_STOPS[i], CONFIDENCE_STOPS[i + 1]].map((hex) => [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16)));
  return `rgb(${a.map((v, k) => Math.round(v + (b[k] - v) * (x - i))).join(", ")})`;
}

function gridCells(kind, grid) {
  // Rows of cell values: numbers for Sudoku and ARC, characters for mazes (rows are strings).
  return kind === "maze" ? grid.map((row) => Array.from(row)) : grid;
}

function drawGrid(container, kind, grid, options = {}) {
  // options: previous (grid: outline the cells that changed), confidence (per cell 0-1: fades unsure cells,
  // or with heatmap: true colours every cell by it instead of its value), marked ([row, column] cells),
  // landmarks (maze: the maze whose S and G are lettered; by default the grid itself, but a model's answer
  // can lose them, and its board still needs to say where the puzzle starts and ends).
  const rows = gridCells(kind, grid);
  const landmarks = options.landmarks || grid;
  const previous = options.previous ? gridCells(kind, options.previous) : null;
  const confidence = options.confidence || null;
  const heatmap = Boolean(options.heatmap && confidence);
  const marked = new Set((options.marked || []).map(([r, c]) => `${r},${c}`));
  container.classList.remove("grid-sudoku", "grid-maze", "grid-arc");
  container.classList.add("grid", `grid-${kind}`);
  container.classList.toggle("heatmap", heatmap);
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
      // A letter as well as a colour: green and red alone are one colour to many colour-blind people.
      const landmark = landmarks[r] && landmarks[r][c];
      if (landmark === "S" || landmark === "G") {
        cell.textContent = landmark;
        cell.classList.add("landmark");
      }
    } else {
      cell.style.background = ARC_COLOURS[value] || "#fff";
    }
    if (previous && previous[r] && previous[r][c] !== value) cell.classList.add("changed");
    if (marked.has(`${r},${c}`)) cell.classList.add("marked");
    if (heatmap && confidence[r]) {
      cell.style.background = confidenceColour(confidence[r][c]);
      cell.style.color = confidence[r][c] > 0.6 ? "#000" : "#fff";
      cell.title = `confidence ${confidence[r][c].toFixed(2)}`;
    } else if (confidence && confidence[r]) {
      cell.style.opacity = String(0.35 + 0.65 * confidence[r][c]);
    }
    container.appendChild(cell);
  }));
}
