// One job's stream of steps over the WebSocket (/ws/jobs/<id>/), kept as a list in order.
// It reconnects by itself with ?after=<last step held>, and stops once the job's final status has arrived.
// A step it already holds (by number: steps are held 1..n, step k at index k-1) or an event it already had
// (by seq) is dropped, so no reconnect or repeated delivery shows anything twice. The job and compare
// pages both watch their jobs through it.
"use strict";

const STREAM_RETRY_FIRST_MS = 500;
const STREAM_RETRY_MAX_MS = 8000;

class JobStream {
  // callbacks: onStep(step, stream), onStatus(message, stream), onConnection("open" | "reconnecting", stream),
  // onEvent(message, stream) for every other message (an ARC job's phases, fit, views and vote).
  constructor(jobId, callbacks = {}) {
    this.jobId = jobId;
    this.callbacks = callbacks;
    this.steps = [];
    this.finished = null;  // the status message, once it has come
    this.lastSeq = 0;  // the last event (an ARC job's phases, fit, views, vote) received
    this.retryDelay = STREAM_RETRY_FIRST_MS;
  }

  start() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${window.location.host}/ws/jobs/${this.jobId}/?after=${this.lastStep()}`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.retryDelay = STREAM_RETRY_FIRST_MS;
      this.notify("onConnection", "open");
    });
    socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    socket.addEventListener("close", () => {
      if (this.finished) return;
      this.notify("onConnection", "reconnecting");
      setTimeout(() => this.start(), this.retryDelay);
      this.retryDelay = Math.min(this.retryDelay * 2, STREAM_RETRY_MAX_MS);
    });
    return this;
  }

  lastStep() {
    return this.steps.length ? this.steps[this.steps.length - 1].step : 0;
  }

  holds(message) {
    if (message.type === "step") return message.step <= this.lastStep() || this.steps[message.step - 1] !== undefined;
    return message.seq !== undefined && message.seq <= this.lastSeq;
  }

  receive(message) {
    if (this.finished || this.holds(message)) return;
    if (message.seq !== undefined) this.lastSeq = message.seq;
    if (message.type === "step") {
      this.steps.push(message);
      this.notify("onStep", message);
    } else if (message.type === "status") {
      this.finished = message;
      this.notify("onStatus", message);
    } else {
      this.notify("onEvent", message);
    }
  }

  notify(name, value) {
    if (this.callbacks[name]) this.callbacks[name](value, this);
  }
}
