// Playing a growing list of steps: play/pause, step back and forth, a scrubber and a speed, with keys
// (← → step, space play/pause, + and - speed). The job page drives one job with it, the compare page two.
// For someone whose system asks for reduced motion it does not play by itself: it shows the latest step.
"use strict";

const PLAYBACK_SPEEDS = [0.5, 1, 2, 4];
const PLAYBACK_STEP_MS = 400;  // time on each step at 1×
const PLAYBACK_REDUCED_MOTION = window.matchMedia("(prefers-reduced-motion: reduce)");

class Playback {
  // elements: {play, prev, next, scrubber, speed (a <select> of PLAYBACK_SPEEDS)}; length(): how many steps
  // there are now; render(index): show step `index` (1-based).
  constructor({elements, length, render}) {
    this.elements = elements;
    this.length = length;
    this.render = render;
    this.index = 0;
    this.shownLength = 0;  // how many steps there were when the board last changed
    this.speed = 1;
    this.timer = null;
    this.setPlaying(!PLAYBACK_REDUCED_MOTION.matches);
    elements.scrubber.addEventListener("input", (event) => { this.setPlaying(false); this.show(Number(event.target.value)); });
    elements.prev.addEventListener("click", () => this.stepBy(-1));
    elements.next.addEventListener("click", () => this.stepBy(1));
    elements.play.addEventListener("click", () => this.togglePlay());
    elements.speed.replaceChildren(...PLAYBACK_SPEEDS.map((speed) => new Option(`${speed}×`, String(speed), false, speed === 1)));
    elements.speed.addEventListener("change", () => this.setSpeed(Number(elements.speed.value)));
    this.schedule();
  }

  show(index) {
    const count = this.length();
    if (!count) return;
    this.index = Math.min(Math.max(index, 1), count);
    this.shownLength = count;
    this.updateScrubber();
    this.render(this.index);
  }

  refresh() {
    if (this.index) this.render(this.index);
  }

  stepsChanged() {
    // New steps: the first one shows at once, later ones when playback reaches them. Without motion the
    // board jumps to each new step instead, unless the viewer has gone back to an earlier one.
    this.updateScrubber();
    if (!PLAYBACK_REDUCED_MOTION.matches) {
      if (this.index === 0) this.show(1);
    } else if (!this.playing && this.index === this.shownLength) {
      this.show(this.length());
    }
  }

  updateScrubber() {
    const {scrubber} = this.elements;
    scrubber.max = String(Math.max(this.length(), 1));
    scrubber.value = String(Math.max(this.index, 1));
    scrubber.disabled = this.length() === 0;
  }

  setPlaying(on) {
    this.playing = on;
    this.elements.play.textContent = on ? "Pause" : "Play";
  }

  togglePlay() {
    this.setPlaying(!this.playing);
    if (this.playing && this.index === this.length()) this.show(1);
  }

  stepBy(delta) {
    // Stepping by hand pauses playback, so it does not move on under the viewer.
    this.setPlaying(false);
    this.show(this.index + delta);
  }

  setSpeed(speed) {
    this.speed = speed;
    this.elements.speed.value = String(speed);
    this.schedule();
  }

  changeSpeed(direction) {
    const at = PLAYBACK_SPEEDS.indexOf(this.speed) + direction;
    if (at >= 0 && at < PLAYBACK_SPEEDS.length) this.setSpeed(PLAYBACK_SPEEDS[at]);
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.playing && this.index < this.length()) this.show(this.index + 1);
      this.schedule();
    }, PLAYBACK_STEP_MS / this.speed);
  }

  bindKeys(more = {}) {
    // `more`: further keys of the page, as {key: handler}.
    document.addEventListener("keydown", (event) => {
      const target = event.target;
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (target.matches("select, textarea, input:not([type=range])")) return;
      // A focused scrubber moves itself on arrow keys (and reports it as input).
      if (target.matches("input[type=range]") && event.key.startsWith("Arrow")) return;
      const actions = {
        ArrowLeft: () => this.stepBy(-1),
        ArrowRight: () => this.stepBy(1),
        " ": () => this.togglePlay(),
        "+": () => this.changeSpeed(1),
        "=": () => this.changeSpeed(1),
        "-": () => this.changeSpeed(-1),
        ...more,
      };
      const action = actions[event.key];
      if (!action) return;
      event.preventDefault();
      action();
    });
  }
}
