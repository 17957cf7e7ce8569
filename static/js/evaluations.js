// Staff evaluation pages (puzzles/evaluation_views.py): the progress of a running evaluation from its socket
// (/ws/evaluations/<id>/, snapshots: puzzles/messages.py), tables copied as CSV, and the compare form.
"use strict";

function followEvaluation(root) {
  const id = root.dataset.evaluationId;
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  let finished = false;
  const show = (message) => {
    document.getElementById("evaluation-status").textContent = message.status;
    document.getElementById("evaluation-phase").textContent = message.phase === "generating"
      ? "generating the puzzles" : message.phase;
    const bar = document.getElementById("evaluation-progress");
    if (bar && message.total) {
      bar.max = message.total;
      bar.value = message.done;
      document.getElementById("evaluation-count").textContent = `${message.done} of ${message.total} puzzles`;
    }
    document.getElementById("evaluation-error").textContent = message.error || "";
    if (message.status === "done" || message.status === "failed") {
      finished = true;
      root.dataset.status = message.status;
      if (message.status === "done") window.location.reload(); // the figures are drawn by the server
    }
  };
  const connect = () => {
    const socket = new WebSocket(`${scheme}://${window.location.host}/ws/evaluations/${id}/`);
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "evaluation") show(message);
      else if (message.type === "error") document.getElementById("evaluation-error").textContent = message.error;
    };
    socket.onclose = () => { if (!finished) setTimeout(connect, 2000); };
  };
  connect();
}

function tableCsv(table) {
  const quote = (text) => (/[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  return Array.from(table.rows, (row) => Array.from(row.cells, (cell) => quote(cell.textContent.trim())).join(","))
    .join("\n") + "\n";
}

async function copyTable(button) {
  const table = document.getElementById(button.dataset.table);
  const note = document.getElementById("copy-note");
  const text = tableCsv(table);
  try {
    await navigator.clipboard.writeText(text);
    note.textContent = `Copied ${table.rows.length - 1} rows as CSV.`;
  } catch (error) {
    // No clipboard (an insecure origin, a refusal): show the CSV selected, for Ctrl-C.
    let box = document.getElementById("csv-text");
    if (!box) {
      box = document.createElement("textarea");
      box.id = "csv-text";
      box.rows = 8;
      box.setAttribute("aria-label", "The table as CSV");
      button.parentNode.insertBefore(box, note.nextSibling);
    }
    box.value = text;
    box.select();
    note.textContent = "Select and copy the CSV below.";
  }
}

function pickForCompare(form) {
  form.addEventListener("submit", (event) => {
    const picked = Array.from(form.querySelectorAll("input[name=pick]:checked"), (box) => box.value);
    if (picked.length < 2) {
      event.preventDefault();
      window.alert("Check two or more finished evaluations to compare.");
      return;
    }
    document.getElementById("compare-ids").value = picked.join(",");
    form.querySelectorAll("input[name=pick]").forEach((box) => { box.disabled = true; }); // only ids= in the URL
  });
}

const evaluationRoot = document.getElementById("evaluation");
if (evaluationRoot && !["done", "failed"].includes(evaluationRoot.dataset.status)) followEvaluation(evaluationRoot);
const copyButton = document.getElementById("copy-csv");
if (copyButton) copyButton.addEventListener("click", () => copyTable(copyButton));
const compareForm = document.getElementById("compare-form");
if (compareForm) pickForCompare(compareForm);
