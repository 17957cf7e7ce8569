// Judging an answer grid against its puzzle, for the job and compare pages: Sudoku rules and the unique
// solution, maze paths against the shortest one, ARC answers against known test outputs.
// Pure functions, no DOM: the browser tests call them directly on known boards.
//
// A verdict is {status, text, marked}: status "solved" | "valid" (a maze path that is not the shortest)
// | "wrong" | "unknown" (nothing to judge against), a sentence, and the [row, column] cells to mark.
"use strict";

const SUDOKU_UNITS = (() => {
  const units = [];
  for (let i = 0; i < 9; i += 1) {
    const row = [];
    const column = [];
    const box = [];
    for (let j = 0; j < 9; j += 1) {
      row.push(i * 9 + j);
      column.push(j * 9 + i);
      box.push((3 * Math.floor(i / 3) + Math.floor(j / 3)) * 9 + 3 * (i % 3) + (j % 3));
    }
    units.push(row, column, box);
  }
  return units;
})();
// Backtracking gives up after this many guesses: a hand-drawn board with few givens could otherwise keep
// the page busy; real puzzles need far fewer.
const SUDOKU_SEARCH_BUDGET = 200000;

const sudokuCellAt = (index) => [Math.floor(index / 9), index % 9];
const countOf = (n, one, many) => `${n} ${n === 1 ? one : many}`;

function sudokuConflicts(grid) {
  // Indices (row * 9 + column) of digits that repeat in a row, column or box.
  const cells = grid.flat();
  const bad = new Set();
  for (const unit of SUDOKU_UNITS) {
    const seen = new Map();
    for (const index of unit) {
      const value = cells[index];
      if (!value) continue;
      if (seen.has(value)) {
        bad.add(index);
        bad.add(seen.get(value));
      } else {
        seen.set(value, index);
      }
    }
  }
  return bad;
}

function sudokuSolutions(puzzle, limit = 2) {
  // Up to `limit` solutions by backtracking on the most constrained blank; {solutions, complete}.
  if (sudokuConflicts(puzzle).size) return {solutions: [], complete: true};
  const cells = puzzle.flat();
  const used = {row: Array(9).fill(0), column: Array(9).fill(0), box: Array(9).fill(0)};
  const boxOf = (index) => 3 * Math.floor(index / 27) + Math.floor((index % 9) / 3);
  const toggle = (index, digit) => {
    const bit = 1 << digit;
    used.row[Math.floor(index / 9)] ^= bit;
    used.column[index % 9] ^= bit;
    used.box[boxOf(index)] ^= bit;
  };
  cells.forEach((digit, index) => { if (digit) toggle(index, digit); });
  const solutions = [];
  let budget = SUDOKU_SEARCH_BUDGET;

  function search() {
    let best = -1;
    let bestFree = 0;
    let bestCount = 10;
    for (let index = 0; index < 81 && bestCount > 1; index += 1) {
      if (cells[index]) continue;
      const free = ~(used.row[Math.floor(index / 9)] | used.column[index % 9] | used.box[boxOf(index)]) & 0x3fe;
      let count = 0;
      for (let bits = free; bits; bits &= bits - 1) count += 1;
      if (count === 0) return;
      if (count < bestCount) [best, bestFree, bestCount] = [index, free, count];
    }
    if (best < 0) {
      solutions.push(Array.from({length: 9}, (_, r) => cells.slice(r * 9, r * 9 + 9)));
      return;
    }
    for (let digit = 1; digit <= 9; digit += 1) {
      if (!(bestFree & (1 << digit))) continue;
      if ((budget -= 1) < 0) return;
      cells[best] = digit;
      toggle(best, digit);
      search();
      toggle(best, digit);
      cells[best] = 0;
      if (solutions.length >= limit) return;
    }
  }

  search();
  return {solutions, complete: budget >= 0 || solutions.length >= limit};
}

function sudokuReference(puzzle) {
  // What an answer can be checked against: {solution} when the puzzle has exactly one, else why not.
  const {solutions, complete} = sudokuSolutions(puzzle, 2);
  if (solutions.length === 1 && complete) return {solution: solutions[0], note: "unique solution"};
  if (solutions.length > 1) return {solution: null, note: "the puzzle has several solutions"};
  if (!complete) return {solution: null, note: "the solution search gave up"};
  return {solution: null, note: "the puzzle has no solution"};
}

function sudokuVerdict(puzzle, answer, reference) {
  const conflicts = sudokuConflicts(answer);
  const marked = new Set(conflicts);
  let blanks = 0;
  let changedGivens = 0;
  let agree = 0;
  for (let index = 0; index < 81; index += 1) {
    const [r, c] = sudokuCellAt(index);
    const value = answer[r][c];
    if (!value) blanks += 1;
    if (puzzle[r][c] && value !== puzzle[r][c]) {
      changedGivens += 1;
      marked.add(index);
    }
    if (reference.solution && value === reference.solution[r][c]) agree += 1;
  }
  const solved = reference.solution ? agree === 81 : !blanks && !conflicts.size && !changedGivens;
  const parts = [];
  if (reference.solution) parts.push(`${agree}/81 cells agree with the unique solution`);
  else parts.push(`checked by the rules only (${reference.note})`);
  if (conflicts.size) parts.push(`${countOf(conflicts.size, "cell breaks", "cells break")} a rule`);
  if (changedGivens) parts.push(`${countOf(changedGivens, "given digit", "given digits")} changed`);
  if (blanks) parts.push(`${countOf(blanks, "cell", "cells")} blank`);
  return {
    status: solved ? "solved" : "wrong",
    text: `${solved ? "Solved" : "Not solved"}: ${parts.join(" · ")}.`,
    marked: [...marked].sort((a, b) => a - b).map(sudokuCellAt),
  };
}

function mazeFind(rows, mark) {
  for (let r = 0; r < rows.length; r += 1) {
    const c = rows[r].indexOf(mark);
    if (c >= 0) return [r, c];
  }
  return null;
}

function mazeNeighbours(rows, [r, c]) {
  return [[r + 1, c], [r - 1, c], [r, c + 1], [r, c - 1]]
    .filter(([nr, nc]) => nr >= 0 && nc >= 0 && nr < rows.length && nc < rows[0].length);
}

function mazeShortestPath(rows) {
  // Moves from S to G through cells that are not walls (breadth-first), or null when G cannot be reached.
  const start = mazeFind(rows, "S");
  const goal = mazeFind(rows, "G");
  if (!start || !goal) return null;
  const distance = new Map([[start.join(), 0]]);
  const queue = [start];
  for (let head = 0; head < queue.length; head += 1) {
    const cell = queue[head];
    if (cell[0] === goal[0] && cell[1] === goal[1]) return distance.get(cell.join());
    for (const next of mazeNeighbours(rows, cell)) {
      if (rows[next[0]][next[1]] === "#" || distance.has(next.join())) continue;
      distance.set(next.join(), distance.get(cell.join()) + 1);
      queue.push(next);
    }
  }
  return null;
}

function mazeDistances(rows, from) {
  // Moves from `from` to every cell reachable through cells that are not walls (breadth-first).
  const distance = new Map([[from.join(), 0]]);
  const queue = [from];
  for (let head = 0; head < queue.length; head += 1) {
    const cell = queue[head];
    for (const next of mazeNeighbours(rows, cell)) {
      if (rows[next[0]][next[1]] === "#" || distance.has(next.join())) continue;
      distance.set(next.join(), distance.get(cell.join()) + 1);
      queue.push(next);
    }
  }
  return distance;
}

function mazeReference(puzzle) {
  // The shortest length, and which open cells lie on some shortest path (their distances from S and to G
  // add up to it): what "path cells right" counts.
  const shortest = mazeShortestPath(puzzle);
  if (shortest === null) return {shortest, onShortest: new Set()};
  const fromStart = mazeDistances(puzzle, mazeFind(puzzle, "S"));
  const toGoal = mazeDistances(puzzle, mazeFind(puzzle, "G"));
  const onShortest = new Set([...fromStart].filter(([cell, d]) => d + (toGoal.get(cell) ?? Infinity) === shortest).map(([cell]) => cell));
  return {shortest, onShortest};
}

function mazeWalkThroughAll(puzzle, onPath, start, goal, budget = 200000) {
  // Whether one walk from S to G steps on every marked cell exactly once (depth-first, with backtracking);
  // "too many" when that takes more than `budget` moves to decide (only a sprawl of marked cells does).
  const visited = new Set([start.join()]);
  let work = 0;
  const walk = (cell) => {
    work += 1;
    if (work > budget) throw new RangeError("budget");
    if (cell[0] === goal[0] && cell[1] === goal[1]) return visited.size === onPath.size;
    for (const next of mazeNeighbours(puzzle, cell)) {
      const key = next.join();
      if (!onPath.has(key) || visited.has(key)) continue;
      visited.add(key);
      if (walk(next)) return true;
      visited.delete(key);
    }
    return false;
  };
  try {
    return walk(start);
  } catch (error) {
    if (error instanceof RangeError) return "too many";
    throw error;
  }
}

function mazePathFault(puzzle, answer) {
  // Why the answer's 'o' cells are not one simple path from S to G: {reason, marked}, or {length} when they are.
  if (answer.length !== puzzle.length || answer.some((row, r) => row.length !== puzzle[r].length)) {
    return {reason: "the answer has another size than the maze", marked: []};
  }
  const path = [];
  answer.forEach((row, r) => Array.from(row).forEach((symbol, c) => { if (symbol === "o") path.push([r, c]); }));
  const blocked = path.filter(([r, c]) => puzzle[r][c] !== " ");
  if (blocked.length) return {reason: `${countOf(blocked.length, "path cell lies", "path cells lie")} on a wall, S or G`, marked: blocked};
  const start = mazeFind(puzzle, "S");
  const goal = mazeFind(puzzle, "G");
  const onPath = new Set([...path, start, goal].map((cell) => cell.join()));
  // Walk from S along the marked cells: a simple path never offers two ways on, and ends at G.
  let previous = null;
  let cell = start;
  let moves = 0;
  while (cell[0] !== goal[0] || cell[1] !== goal[1]) {
    const ways = mazeNeighbours(puzzle, cell)
      .filter((next) => onPath.has(next.join()) && !(previous && next[0] === previous[0] && next[1] === previous[1]));
    if (ways.length === 0) return {reason: moves ? "the path stops before G" : "no path leaves S", marked: [cell]};
    if (ways.length > 1) {
      // Two ways on: a branch, or a path that runs beside itself (never a shortest one, but a path).
      const through = mazeWalkThroughAll(puzzle, onPath, start, goal);
      if (through === "too many") return {reason: "the marked cells branch too often to tell whether they form one path", marked: [cell]};
      return through ? {length: onPath.size - 1} : {reason: "the path branches", marked: [cell]};
    }
    [previous, cell] = [cell, ways[0]];
    moves += 1;
  }
  if (moves + 1 !== onPath.size) {
    const walked = moves + 1;
    return {reason: `${countOf(onPath.size - walked, "marked cell is", "marked cells are")} off the path`, marked: []};
  }
  return {length: moves};
}

function mazeVerdict(puzzle, answer, reference) {
  const judged = mazePathFault(puzzle, answer);
  const shortest = reference.shortest === null ? "this maze has no path from S to G" : `shortest ${reference.shortest}`;
  if (judged.reason) return {status: "wrong", text: `Not a path: ${judged.reason} (${shortest}).`, marked: judged.marked};
  if (judged.length === reference.shortest) {
    return {status: "solved", text: `Valid shortest path: ${judged.length} steps.`, marked: []};
  }
  return {status: "valid", text: `Valid but longer: ${judged.length} steps, ${shortest}.`, marked: []};
}

function arcReference(puzzle) {
  // The known test outputs, one per test input (null where the task does not carry one).
  return {outputs: (puzzle.test || []).map((pair) => pair.output || null)};
}

function arcCompare(answer, expected) {
  const size = (grid) => `${grid.length}×${grid.length ? grid[0].length : 0}`;
  if (size(answer) !== size(expected)) return {match: false, text: `wrong size (${size(answer)}, expected ${size(expected)})`, marked: []};
  const marked = [];
  answer.forEach((row, r) => row.forEach((value, c) => { if (value !== expected[r][c]) marked.push([r, c]); }));
  return {match: !marked.length, text: marked.length ? `${countOf(marked.length, "cell differs", "cells differ")}` : "exact match", marked};
}

function arcVerdict(answers, reference) {
  // `answers`: the step's answer to each test input; cells are marked on the first (the one drawn).
  const judged = reference.outputs.map((expected, i) => (expected && answers[i] ? arcCompare(answers[i], expected) : null));
  if (!judged.some(Boolean)) return {status: "unknown", text: "No known test output to check against.", marked: []};
  const solved = judged.every((result) => result && result.match);
  const text = judged.length === 1
    ? judged[0].text
    : judged.map((result, i) => `test ${i + 1}: ${result ? result.text : "no known output"}`).join(" · ");
  return {status: solved ? "solved" : "wrong", text: `${text[0].toUpperCase()}${text.slice(1)}.`, marked: judged[0] ? judged[0].marked : []};
}

function verdictReference(kind, puzzle) {
  // Computed once per job (solving a Sudoku is the costly part), then reused for every step.
  if (kind === "sudoku") return sudokuReference(puzzle.grid);
  if (kind === "maze") return mazeReference(puzzle.grid);
  return arcReference(puzzle);
}

function cellsRight(kind, puzzle, reference, step) {
  // How much of a step's answer is right, as {right, of, label}, or null when nothing can say. Sudoku: cells
  // that agree with the unique solution. Maze: path cells that lie on some shortest path, of the larger of
  // the cells marked and the cells a shortest path has (so a stray or missing cell costs, and any valid
  // shortest path scores all). ARC: cells of the first test output, when the task carries it.
  if (kind === "sudoku") {
    if (!reference.solution) return null;
    const right = step.grid.flat().filter((value, i) => value === reference.solution[Math.floor(i / 9)][i % 9]).length;
    return {right, of: 81, label: "cells right"};
  }
  if (kind === "maze") {
    if (reference.shortest === null) return null;
    const marked = [];
    step.grid.forEach((row, r) => Array.from(row).forEach((symbol, c) => { if (symbol === "o") marked.push(`${r},${c}`); }));
    const open = (cell) => { const [r, c] = cell.split(",").map(Number); return puzzle.grid[r][c] === " "; };
    const right = marked.filter((cell) => reference.onShortest.has(cell) && open(cell)).length;
    return {right, of: Math.max(marked.length, reference.shortest - 1), label: "path cells right"};
  }
  const expected = reference.outputs[0];
  const answer = (step.grids || [step.grid])[0];
  if (!expected) return null;
  const cells = expected.length * (expected.length ? expected[0].length : 0);
  const sameSize = answer && answer.length === expected.length && answer.every((row, r) => row.length === expected[r].length);
  const right = sameSize ? expected.flat().filter((value, i) => value === answer.flat()[i]).length : 0;
  return {right, of: cells, label: "cells right"};
}

function judgeStep(kind, puzzle, reference, step) {
  if (kind === "sudoku") return sudokuVerdict(puzzle.grid, step.grid, reference);
  if (kind === "maze") return mazeVerdict(puzzle.grid, step.grid, reference);
  return arcVerdict(step.grids || [step.grid], reference);
}
