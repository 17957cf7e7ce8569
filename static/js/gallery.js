// A gallery of puzzles to start from: Sudokus by difficulty, mazes and ARC tasks, each shown as a thumbnail
// that loads it into the editor on a click. The list is puzzles/gallery.json, put in the page by the view
// (#starting-puzzles), which also marks a card the active checkpoint of its kind would refuse (`refused`).
"use strict";

const STARTING_PUZZLES = JSON.parse(document.getElementById("starting-puzzles").textContent);

function galleryText(item) {
  // A maze is kept as a list of rows; the editors take it as text.
  return Array.isArray(item.puzzle) ? item.puzzle.join("\n") : item.puzzle;
}

async function arcEntryTask(item) {
  // An ARC entry holds its task (`puzzle`: one drawn for the playground) or names one in the task library.
  if (item.puzzle) return structuredClone(item.puzzle);
  return libraryArcTask(item);
}

async function libraryArcTask(item) {
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
  list.replaceChildren(...STARTING_PUZZLES.gallery.map((item) => {
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
    const ready = item.kind === "arc" ? arcEntryTask(item) : Promise.resolve(galleryText(item));
    button.disabled = true;
    ready.then((puzzle) => {
      button.prepend(galleryThumbnail(item, puzzle));
      if (item.refused) {  // shown, so people see what a bigger model would take, but not sent to fail
        caption.querySelector("small").textContent = `${item.note}; not for this model: ${item.refused}`;
        button.title = `Not available: ${item.refused}`;
        return;
      }
      button.disabled = false;
      // A copy each time: the editor may keep and change what it is given.
      button.addEventListener("click", () => pick(item.kind, structuredClone(puzzle), `${item.title}, from the gallery`));
    }).catch((error) => {
      caption.querySelector("small").textContent = `unavailable: ${error.message}`;
    });
    return entry;
  }));
}
