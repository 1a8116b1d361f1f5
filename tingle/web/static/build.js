// Tingle's build page: the build's and steps' states and durations, kept current while it runs,
// and each open step's log (steplog.js). No build tool: served as is.
"use strict";

(function () {
  const root = document.getElementById("build");
  if (!root) return;
  const api = "/api/builds/" + encodeURIComponent(root.dataset.build);
  const POLL_MS = 2000;
  const TERMINAL = window.Tingle.TERMINAL;
  window.tingleStats = window.Tingle.stats;
  const logs = new Map();
  const page = { api: api, buildState: () => root.dataset.state, onEnd: () => poll() };

  function stepLog(el) {
    const index = Number(el.dataset.step);
    if (!logs.has(index)) logs.set(index, new window.Tingle.StepLog(el, page));
    return logs.get(index);
  }

  function label(state) {
    const span = document.createElement("span");
    span.className = "state state-" + state;
    span.textContent = state;
    return span;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const whole = Math.max(0, Math.round(seconds));
    if (whole < 60) return seconds < 10 ? seconds.toFixed(1) + "s" : whole + "s";
    const minutes = Math.floor(whole / 60);
    if (minutes < 60) return minutes + "m " + String(whole % 60).padStart(2, "0") + "s";
    return Math.floor(minutes / 60) + "h " + String(minutes % 60).padStart(2, "0") + "m";
  }

  function elapsed(start, end) {
    if (start === null) return null;
    return (end === null ? Date.now() / 1000 : end) - start;
  }

  let polling = null;
  async function poll() {
    let build;
    try {
      const response = await fetch(api, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      build = await response.json();
    } catch (error) {
      return;
    }
    if (build.steps.length !== Number(root.dataset.steps)) { window.location.reload(); return; }
    root.dataset.state = build.state;
    document.getElementById("build-state").replaceChildren(label(build.state));
    const total = document.getElementById("build-duration");
    if (total) total.textContent = duration(elapsed(build.started_at, build.finished_at));
    const terminal = TERMINAL.includes(build.state);
    document.querySelectorAll(".actions .cancel").forEach((f) => { f.hidden = terminal; });
    document.querySelectorAll(".actions .restart").forEach((f) => { f.hidden = !terminal; });
    build.steps.forEach((step) => {
      const el = document.getElementById("step-" + step.index);
      if (!el) return;
      const was = el.dataset.state;
      el.dataset.state = step.state;
      el.querySelector(".step-state").replaceChildren(label(step.state));
      el.querySelector(".step-duration").textContent = duration(elapsed(step.started_at, step.finished_at));
      el.querySelector(".step-exit").textContent = step.exit_code === null ? "" : "exit " + step.exit_code;
      el.querySelector(".truncated").hidden = !step.log_truncated;
      if (was !== "running" && step.state === "running" && !el.open) el.open = true;
      const log = logs.get(step.index);
      if (log && log.started && log.isLive()) log.listen();
    });
    if (terminal && polling !== null) { clearInterval(polling); polling = null; }
  }

  function openFromHash() {
    const match = /^#step-(\d+)(?:-L(\d+))?$/.exec(window.location.hash);
    if (!match) return null;
    const el = document.getElementById("step-" + match[1]);
    if (!el) return null;
    el.open = true;
    return { el: el, line: match[2] ? Number(match[2]) : null };
  }

  async function begin() {
    const target = openFromHash();
    document.querySelectorAll("details.step").forEach((el) => {
      el.addEventListener("toggle", () => { if (el.open) stepLog(el).start(null).catch(console.error); });
    });
    if (target) {
      await stepLog(target.el).start(target.line);
      const line = target.line && document.getElementById("step-" + target.el.dataset.step + "-L" + target.line);
      (line || target.el).scrollIntoView({ block: "center" });
      if (line) line.classList.add("hl");
    }
    document.querySelectorAll("details.step[open]").forEach((el) => {
      stepLog(el).start(null).catch(console.error);
    });
    if (!TERMINAL.includes(root.dataset.state)) polling = setInterval(poll, POLL_MS);
  }

  begin().catch(console.error);
})();
