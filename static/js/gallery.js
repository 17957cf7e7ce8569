// A gallery of puzzles to start from: a few Sudokus by difficulty, two mazes and two ARC tasks, each shown
// as a thumbnail that loads it into the editor on a click. The Sudokus and mazes came from the project's
// generators (solver/datasets), rated as /api/v1/examples/ rates them; the ARC tasks are two of those the
// demo checkpoint was trained on, read from the task library when the page opens.
"use strict";

const GALLERY = [
  {kind: "sudoku", title: "Easy Sudoku", note: "0 guesses",
    puzzle: "....1.4.5..6..3...3.892.1........6.98..2.9...2.......1...8........76.......3..257"},
  {kind: "sudoku", title: "Medium Sudoku", note: "2 guesses",
    puzzle: "....38..6..2....14.7.1.......94.........8.4.23..5.1...9.6.2..78....156...4.....3."},
  {kind: "sudoku", title: "Hard Sudoku", note: "4 guesses",
    puzzle: "5..27..9..6......7.2...6......5..1.21..8..56......97..6.......5....3.2....1.8..3."},
  {kind: "sudoku", title: "Extreme Sudoku", note: "14 guesses",
    puzzle: ".6.......83....5..412...76...9...8..7...3..59....6.4.....4.2......59..7......3.84"},
  {kind: "maze", title: "Maze 10×10", note: "path of 28 steps",
    puzzle: ["         #", " #### ##  ", " #  #   # ", " G # ## # ", "# #      #", "   ## ##  ", " #  #   # ",
      "#S## # #  ", "       # #", "# # # #   "].join("\n")},
  {kind: "maze", title: "Maze 20×20", note: "path of 50 steps",
    puzzle: ["         #  #  S   #", " ## ####   # # ###  ", "#       # #       # ", " ## ## ###  ## ## ##", " # ##  ## ##  ##    ",
      "      #   G #   ### ", " ## # # # # # #     ", " #   #   #  # ##### ", "  ### ## # #       #", " #       #  ### ##  ",
      "   #####  #    #  # ", " #      ## # #   #  ", "  ## #      #  #   #", " #     ####  ## ### ", " # ###     #        ",
      " #    ####  ####### ", "  ###     # #       ", " #    # # #   ##### ", " ## ## #   ###     #", "         #     # #  "].join("\n")},
  {kind: "arc", title: "ARC 0d3d703e", note: "ARC-AGI-1: recolour", dataset: "arc-agi-1", name: "0d3d703e"},
  {kind: "arc", title: "ARC 25ff71a9", note: "ARC-AGI-1: fall one row", dataset: "arc-agi-1", name: "25ff71a9"},
];

async function galleryArcTask(item) {
  const response = await fetch(`/api/v1/arc-tasks/${item.dataset}/${item.name}/`);
  if (!response.ok) throw new Error(`the task library answered ${response.status}`);
  const task = await response.json();
  return {train: task.train, test: task.test, task: task.name};
}

function galleryThumbnail(item, puzzle) {
  const thumb = document.createElement("div");
  thumb.className = "thumb";
  if (item.kind === "sudoku") drawGrid(thumb, "sudoku", sudokuLine(puzzle).match(/.{9}/g).map((row) => Array.from(row, (ch) => (ch === "." ? 0 : Number(ch)))));
  else if (item.kind === "maze") drawGrid(thumb, "maze", puzzle.split("\n"));
  else drawGrid(thumb, "arc", puzzle.train[0].input);
  thumb.setAttribute("aria-hidden", "true");
  return thumb;
}

function showGallery(list, pick) {
  // pick(kind, puzzle): the Sudoku's or maze's text, or the ARC task as an object.
  list.replaceChildren(...GALLERY.map((item) => {
    const entry = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "gallery-item";
    const caption = document.createElement("span");
    caption.innerHTML = "<b></b><small class=\"muted\"></small>";
    caption.querySelector("b").textContent = item.title;
    caption.querySelector("small").textContent = item.note;
    button.append(caption);
    entry.append(button);
    const ready = item.kind === "arc" ? galleryArcTask(item) : Promise.resolve(item.puzzle);
    button.disabled = true;
    ready.then((puzzle) => {
      button.prepend(galleryThumbnail(item, puzzle));
      button.disabled = false;
      // A copy each time: the editor may keep and change what it is given.
      button.addEventListener("click", () => pick(item.kind, structuredClone(puzzle), `${item.title}, from the gallery`));
    }).catch((error) => {
      caption.querySelector("small").textContent = `unavailable: ${error.message}`;
    });
    return entry;
  }));
}
