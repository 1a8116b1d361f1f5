// One step's log on the build page: the tail first, earlier lines on demand (runs of lines with
// a "show earlier" button above each), and new lines live by server-sent events.
//
// Log lines arrive from the server already escaped, with ANSI colours as spans
// (tingle/web/ansi.py); everything else is set with textContent. No build tool: served as is.
"use strict";

window.Tingle = (function () {
  const TAIL = 1000;
  const EARLIER = 5000;
  const TERMINAL = ["success", "failure", "error", "skipped", "cancelled"];
  const stats = { duplicates: 0, gaps: 0, events: 0 };

  const nearBottom = () => window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;

  // Lines go into blocks of BLOCK rows that the browser may skip laying out while off screen
  // (content-visibility: auto in tingle.css): laying out thousands of rows at once would freeze.
  const BLOCK = 200;

  function row(step, n, html) {
    const line = document.createElement("div");
    line.className = "l";
    line.id = "step-" + step + "-L" + n;
    const number = document.createElement("a");
    number.className = "n";
    number.href = "#" + line.id;
    number.textContent = String(n);
    const text = document.createElement("span");
    text.className = "t";
    text.innerHTML = html; // escaped by the server: see the note at the top
    line.append(number, text);
    return line;
  }

  // Adds lines first.. to `block` (or to new blocks once it is full); returns the new blocks.
  function fill(step, first, html, block) {
    const made = [];
    html.forEach(function (line, i) {
      if (!block || block.childElementCount >= BLOCK) {
        block = document.createElement("div");
        block.className = "blk";
        made.push(block);
      }
      block.append(row(step, first + i, line));
    });
    made.forEach((b) => { b.style.containIntrinsicSize = "auto " + b.childElementCount * 19 + "px"; });
    return made;
  }

  class StepLog {
    // `page`: {api: the build's API URL, buildState(): its state now, onEnd(): a step ended}
    constructor(el, page) {
      this.el = el;
      this.page = page;
      this.index = Number(el.dataset.step);
      this.box = el.querySelector(".log");
      this.count = el.querySelector(".log-count");
      this.segments = []; // runs of consecutive lines: {first, end, before, box, gap}
      this.total = 0;
      this.lastId = null;
      this.source = null;
      this.started = false;
      this.failures = 0; // streams refused or failed in a row: how long to wait before the next
    }

    url(params) {
      const query = new URLSearchParams(Object.assign({ format: "json", render: "html" }, params));
      return this.page.api + "/steps/" + this.index + "/log?" + query;
    }

    async fetchWindow(params) {
      const response = await fetch(this.url(params), { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("log: HTTP " + response.status);
      return response.json();
    }

    async start(anchorLine) {
      if (this.started) return;
      this.started = true;
      const tail = await this.fetchWindow({ tail: TAIL });
      this.lastId = tail.last_id;
      this.addSegment(tail, 0);
      if (anchorLine && anchorLine < tail.first_line) {
        const gap = tail.first_line - anchorLine + 250;
        if (gap <= 10000) await this.earlier(0, gap);
        else this.addSegment(await this.fetchWindow({ line: anchorLine, tail: TAIL }), 0);
      }
      this.showCount();
      if (this.isLive()) this.listen();
    }

    isLive() {
      const state = this.el.dataset.state;
      return (state === "running" || state === "pending") && !TERMINAL.includes(this.page.buildState());
    }

    addSegment(win, at) {
      const box = document.createElement("div");
      const gap = document.createElement("button");
      gap.type = "button";
      gap.className = "gap";
      const segment = { first: win.first_line, end: win.first_line + win.html.length, before: win.before, box: box, gap: gap };
      gap.addEventListener("click", () => this.earlier(this.segments.indexOf(segment), EARLIER));
      box.append(gap, ...fill(this.index, win.first_line, win.html, null));
      this.total = Math.max(this.total, win.total_lines);
      this.segments.splice(at, 0, segment);
      const next = this.segments[at + 1];
      this.box.insertBefore(box, next ? next.box : null);
      this.refreshGaps();
    }

    refreshGaps() {
      this.segments.forEach((segment, k) => {
        const floor = k > 0 ? this.segments[k - 1].end : 1;
        const missing = segment.first - floor;
        segment.gap.hidden = !segment.before || missing <= 0;
        segment.gap.textContent = "Show " + Math.min(missing, EARLIER).toLocaleString() +
          " earlier lines (" + missing.toLocaleString() + " not shown)";
      });
    }

    async earlier(k, count) {
      const segment = this.segments[k];
      if (!segment || !segment.before || segment.loading) return;
      const floor = k > 0 ? this.segments[k - 1].end : 1;
      segment.loading = true; // a second click must not fetch the same lines again
      const win = await this.fetchWindow({
        tail: Math.min(count, 10000), before: segment.before.id,
        before_line: segment.before.line, min_line: floor,
      }).finally(() => { segment.loading = false; });
      segment.gap.after(...fill(this.index, win.first_line, win.html, null));
      segment.first = win.first_line;
      segment.before = win.before;
      if (k > 0 && segment.first <= floor) { // joined the segment above: one run of lines now
        const above = this.segments[k - 1];
        while (segment.gap.nextSibling) above.box.append(segment.gap.nextSibling);
        above.end = segment.end;
        segment.box.remove();
        this.segments.splice(k, 1);
      }
      this.refreshGaps();
      this.showCount();
    }

    append(data) {
      stats.events += 1;
      const last = this.segments[this.segments.length - 1];
      let html = data.html;
      let first = data.first_line;
      if (first < last.end) { // already shown: never twice
        stats.duplicates += 1;
        html = html.slice(last.end - first);
        first = last.end;
      } else if (first > last.end) {
        stats.gaps += 1;
      }
      if (!html.length) return;
      const follow = nearBottom();
      const tail = last.box.lastElementChild;
      last.box.append(...fill(this.index, first, html, tail && tail.classList.contains("blk") ? tail : null));
      last.end = first + html.length;
      this.total = Math.max(this.total, last.end - 1);
      this.showCount();
      if (follow) window.scrollTo(0, document.body.scrollHeight);
    }

    listen() {
      if (this.source) return;
      const after = this.lastId || "0-0";
      const source = new EventSource(this.page.api + "/steps/" + this.index + "/events?render=html&after=" + encodeURIComponent(after));
      this.source = source;
      source.addEventListener("open", () => { this.failures = 0; });
      source.addEventListener("lines", (event) => {
        this.lastId = event.lastEventId || this.lastId;
        this.append(JSON.parse(event.data));
      });
      source.addEventListener("end", () => {
        source.close();
        this.source = null;
        this.page.onEnd();
      });
      source.addEventListener("error", () => {
        if (source.readyState !== EventSource.CLOSED) return; // the browser reconnects itself
        // Refused (a 429: too many streams from this address, or on the server) or failed: an
        // EventSource does not retry a non-200 answer. Poll the new lines instead, less and less
        // often (with jitter, so that many pages do not come back together), then listen again.
        this.source = null;
        this.failures = (this.failures || 0) + 1;
        const delay = Math.min(60000, 2000 * 2 ** Math.min(this.failures, 5)) * (0.5 + Math.random() / 2);
        setTimeout(() => this.poll().finally(() => { if (this.isLive()) this.listen(); }), delay);
      });
    }

    // The lines after the last one shown, once, by the JSON API (the fallback while streams are
    // refused).
    async poll() {
      try {
        const win = await this.fetchWindow({ after: this.lastId || "0-0" });
        if (win.html.length) {
          this.append({ first_line: win.first_line, html: win.html });
          this.lastId = win.last_id || this.lastId;
        }
      } catch (error) { /* the next attempt tries again */ }
    }

    showCount() {
      const shown = this.segments.reduce((sum, s) => sum + (s.end - s.first), 0);
      this.count.textContent = this.total ? shown.toLocaleString() + " of " + this.total.toLocaleString() + " lines" : "";
    }
  }

  return { StepLog: StepLog, stats: stats, TERMINAL: TERMINAL };
})();
