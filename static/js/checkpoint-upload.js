// The checkpoint upload page: sends the checkpoint file in chunks, then the form without it.
//
// daphne holds a whole request body in memory before Django sees it, and checkpoints run to several GB. So
// the file goes in order, a chunk per request (Blob.slice, never read whole), to the admin's chunked-upload
// endpoints, with a progress bar; a failed chunk is sent again a few times. The form then goes as usual,
// naming the upload instead of carrying the file, and the server checks and registers it. Without this
// script the plain multipart form still works, for files small enough to pass through memory.
"use strict";

(function () {
  const form = document.getElementById("checkpoint_upload_form");
  if (!form || !window.fetch || !window.Blob || !Blob.prototype.slice) return;

  const fileInput = form.querySelector("input[type=file][name=checkpoint]");
  const uploadId = form.querySelector("input[name=upload_id]");
  const submit = form.querySelector("input[type=submit]");
  const progressBox = document.getElementById("checkpoint-upload-progress");
  const progressBar = progressBox.querySelector("progress");
  const progressText = document.getElementById("checkpoint-upload-progress-text");
  const errorBox = document.getElementById("checkpoint-upload-error");
  const csrfToken = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const RETRIES = 4; // a chunk is sent at most 1 + RETRIES times in a row without progress
  let busy = false;

  function megabytes(bytes) {
    return `${(bytes / 1e6).toFixed(1)} MB`;
  }

  function showProgress(sent, total, note) {
    const percent = total ? Math.floor((100 * sent) / total) : 100;
    progressBox.hidden = false;
    progressBar.value = percent;
    progressText.textContent = `${megabytes(sent)} of ${megabytes(total)} sent (${percent}%)${note ? ` — ${note}` : ""}`;
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  async function answerOf(response) {
    // A JSON answer, or {} when the server answered something else (an error page, the login page).
    try {
      return (response.headers.get("Content-Type") || "").includes("application/json") ? await response.json() : {};
    } catch (error) {
      return {};
    }
  }

  function whyRefused(response, answer) {
    if (answer.error) return answer.error;
    if (response.redirected) return "the server sent the login page: log in again, then upload again";
    return `the server answered HTTP ${response.status} ${response.statusText}`.trim();
  }

  function pause(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  async function post(url, body, contentType) {
    return fetch(url, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken, "Content-Type": contentType},
    });
  }

  async function startUpload(file) {
    const fields = new URLSearchParams({name: form.elements.name.value, file_name: file.name, size: String(file.size)});
    const response = await post(form.dataset.startUrl, fields, "application/x-www-form-urlencoded");
    const answer = await answerOf(response);
    if (!response.ok || typeof answer.upload_id !== "string") {
      throw new Error(`The upload could not start: ${whyRefused(response, answer)}.`);
    }
    return answer;
  }

  async function sendChunks(file, upload) {
    const chunkBytes = Math.max(1, Math.min(Number(form.dataset.chunkBytes) || upload.max_chunk_bytes, upload.max_chunk_bytes));
    let offset = 0;
    let failures = 0;
    showProgress(0, file.size);
    while (offset < file.size) {
      const end = Math.min(offset + chunkBytes, file.size);
      const url = `${form.dataset.chunkUrl}?upload_id=${encodeURIComponent(upload.upload_id)}&offset=${offset}`;
      let response = null;
      let answer = {};
      let reason;
      try {
        response = await post(url, file.slice(offset, end), "application/octet-stream");
        answer = await answerOf(response);
        reason = whyRefused(response, answer);
      } catch (error) {
        reason = `the connection failed (${error.message})`;
      }
      if (response && response.ok && Number.isInteger(answer.received)) {
        offset = answer.received;
        failures = 0;
        showProgress(offset, file.size);
        continue;
      }
      const retriable = !response || response.status >= 500 || [408, 409, 429].includes(response.status);
      if (!retriable || failures >= RETRIES) {
        throw new Error(`Sending ${file.name} failed at byte ${offset.toLocaleString()}: ${reason}.`);
      }
      failures += 1;
      if (response && response.status === 409 && Number.isInteger(answer.received)) {
        offset = answer.received; // the server has this much (a lost answer, say): go on from there
      } else {
        const wait = 1000 * 2 ** (failures - 1);
        showProgress(offset, file.size, `${reason}; trying again in ${wait / 1000} s`);
        await pause(wait);
      }
    }
  }

  form.addEventListener("submit", async (event) => {
    const file = fileInput && fileInput.files[0];
    if (!file) return; // nothing to send first: the form goes as it is, and the server says what is missing
    event.preventDefault();
    if (busy) return;
    busy = true;
    submit.disabled = true;
    showError("");
    try {
      const upload = await startUpload(file);
      await sendChunks(file, upload);
      showProgress(file.size, file.size, "checking the checkpoint");
      uploadId.value = upload.upload_id;
      fileInput.disabled = true; // the file has arrived; a disabled input is not sent again
      form.submit(); // a plain submit, which fires no submit event: the server's answer replaces the page
    } catch (error) {
      showError(error.message);
      submit.disabled = false;
      busy = false;
    }
  });

  // Coming back to the page from the history: the chunked upload was used up, choose the file again.
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    uploadId.value = "";
    fileInput.disabled = false;
    submit.disabled = false;
    busy = false;
  });
})();
