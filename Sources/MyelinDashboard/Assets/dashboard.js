// Myelin's dashboard: runs, live curves, inside the network, pause/step/inspect. No libraries.
"use strict";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#db2777", "#65a30d", "#4f46e5", "#b45309"];
const state = {
  runs: [],            // from /api/runs
  selected: new Set(), // run ids drawn
  colors: new Map(),
  steps: new Map(),    // id -> {generation, step[], epoch[], loss[], lr[]}
  details: new Map(),  // id -> /api/run answer
  insights: new Map(), // id -> {generation, entries[]}
  live: null,          // id of this server's live run, if any
  tab: "curves",
  listKey: null,
  redraw: false,
};

const $ = (id) => document.getElementById(id);
const q = (s) => encodeURIComponent(s);

async function getJSON(url) {
  const r = await fetch(url, { cache: "no-store" });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

// ---------- runs ----------

function colorOf(id) {
  if (!state.colors.has(id)) state.colors.set(id, COLORS[state.colors.size % COLORS.length]);
  return state.colors.get(id);
}

async function loadRuns() {
  const answer = await getJSON("/api/runs");
  $("root").textContent = answer.root;
  state.runs = answer.runs;
  const live = state.runs.find((r) => r.live);
  state.live = live ? live.id : null;
  if (state.selected.size === 0) {
    // Live and running runs first, then the newest: at most five drawn at the start.
    const first = state.runs.filter((r) => r.live || r.running).concat(state.runs).map((r) => r.id);
    for (const id of first) { if (state.selected.size >= 5) break; state.selected.add(id); }
  }
  for (const id of [...state.selected]) if (!state.runs.some((r) => r.id === id)) state.selected.delete(id);
  renderRunList();
  renderLive(live ? live.live : null);
  await Promise.all([...state.selected].map((id) => refreshRun(id)));
  scheduleDraw();
}

function renderRunList() {
  const filter = $("filter").value.toLowerCase();
  const ul = $("runs");
  ul.textContent = "";
  const shown = state.runs.filter((r) => r.id.toLowerCase().includes(filter));
  $("run-count").textContent = `${state.runs.length} runs` + (shown.length !== state.runs.length ? `, ${shown.length} shown` : "");
  for (const run of shown.slice(0, 1000)) {
    const li = document.createElement("li");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = state.selected.has(run.id);
    box.dataset.run = run.id;
    box.addEventListener("change", async () => {
      if (box.checked) { state.selected.add(run.id); await refreshRun(run.id); } else state.selected.delete(run.id);
      renderRunList();
      scheduleDraw();
    });
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = state.selected.has(run.id) ? colorOf(run.id) : "transparent";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = run.id;
    const acc = run.last.val_accuracy ?? run.last.accuracy;
    name.title = `${run.epochs} epochs` + (acc != null ? `, accuracy ${acc.toFixed(4)}` : "") + (run.last.loss != null ? `, loss ${run.last.loss.toFixed(4)}` : "");
    li.append(box, swatch, name);
    if (run.live || run.running) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = run.live ? run.live.state : "running";
      li.append(badge);
    }
    ul.append(li);
  }
  const select = $("inside-run");
  const current = select.value;
  select.textContent = "";
  for (const id of state.selected) {
    const o = document.createElement("option");
    o.value = o.textContent = id;
    select.append(o);
  }
  if ([...state.selected].includes(current)) select.value = current;
}

async function refreshRun(id) {
  const [detail] = await Promise.all([getJSON(`/api/run?id=${q(id)}`), refreshSteps(id)]);
  state.details.set(id, detail);
}

async function refreshSteps(id) {
  const have = state.steps.get(id);
  const from = have ? have.step.length : 0;
  const gen = have ? `&generation=${have.generation}` : "";
  const a = await getJSON(`/api/steps?id=${q(id)}&from=${from}${gen}`);
  if (!have || a.generation !== have.generation || a.from === 0) {
    state.steps.set(id, { generation: a.generation, step: a.step, epoch: a.epoch, loss: a.loss, lr: a.lr });
  } else if (a.from === have.step.length) {
    have.step.push(...a.step); have.epoch.push(...a.epoch); have.loss.push(...a.loss); have.lr.push(...a.lr);
  }
}

async function refreshInsights(id) {
  const have = state.insights.get(id);
  const from = have ? have.entries.length : 0;
  const gen = have ? `&generation=${have.generation}` : "";
  const a = await getJSON(`/api/insights?id=${q(id)}&from=${from}${gen}`);
  if (!have || a.generation !== have.generation || a.from === 0) state.insights.set(id, { generation: a.generation, entries: a.entries });
  else if (a.from === have.entries.length) have.entries.push(...a.entries);
}

// ---------- live updates ----------

function connect() {
  const source = new EventSource("/api/events");
  source.onopen = () => $("connection").classList.add("on");
  source.onerror = () => $("connection").classList.remove("on");
  source.onmessage = async (e) => {
    const event = JSON.parse(e.data);
    const key = `${event.runs}:${event.list}`;
    if (state.listKey !== null && key !== state.listKey) { state.listKey = key; await loadRuns(); }
    state.listKey = key;
    const jobs = [];
    for (const w of event.watched) {
      if (w.live && w.id === state.live) renderLive(w.live);
      if (!state.selected.has(w.id)) continue;
      const have = state.steps.get(w.id);
      if (!have || have.step.length !== w.steps) jobs.push(refreshSteps(w.id));
      const ins = state.insights.get(w.id);
      if (state.tab === "inside" && (!ins || ins.entries.length !== w.insights)) jobs.push(refreshInsights(w.id));
      // Epoch lines (metrics.csv) change with the step count's epoch.
      const d = state.details.get(w.id);
      const epochs = have && have.epoch.length ? have.epoch[have.epoch.length - 1] : 0;
      if (!d || d.history.epochs.length < epochs) jobs.push(getJSON(`/api/run?id=${q(w.id)}`).then((x) => state.details.set(w.id, x)));
    }
    if (jobs.length) { await Promise.all(jobs); scheduleDraw(); }
  };
}

function renderLive(live) {
  $("live").hidden = !live;
  if (!live) return;
  $("live-name").textContent = state.live;
  const badge = document.querySelector(`#runs input[data-run="${CSS.escape(state.live)}"]`)?.parentElement.querySelector(".badge");
  if (badge) badge.textContent = live.state;
  $("status-state").textContent = live.state;
  $("status-step").textContent = live.step;
  $("status-epoch").textContent = live.epoch + 1;
  $("status-lr").textContent = live.lr == null ? "-" : Number(live.lr).toPrecision(4);
  $("lr-set").disabled = $("lr-input").disabled = !!live.lrLocked;
  if (live.lrLocked) $("lr-input").title = live.lrLocked;
  const paused = live.state === "paused";
  $("pause").disabled = paused || live.state === "finished" || live.state === "stopping";
  $("resume").disabled = $("step").disabled = !paused;
  $("stop").disabled = live.state === "finished" || live.state === "stopping";
}

async function control(body) {
  $("control-message").textContent = "";
  const r = await fetch(`/api/control?id=${q(state.live)}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const a = await r.json();
  // The state shown comes from the event stream only: this answer may be older than its last event.
  if (!r.ok) $("control-message").textContent = a.error;
}

// ---------- charts ----------

function scheduleDraw() {
  if (state.redraw) return;
  state.redraw = true;
  requestAnimationFrame(() => { state.redraw = false; draw(); });
}

function draw() {
  if (state.tab === "curves") drawCurves();
  else if (state.tab === "inside") drawInside();
  else if (state.tab === "pictures") drawPictures();
}

/** Debiased exponential moving average (as Adam debiases its moments): no pull towards 0 at the start. */
function smooth(ys, weight) {
  if (weight <= 0) return ys;
  const out = new Array(ys.length);
  let m = 0, n = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y == null || !isFinite(y)) { out[i] = y; continue; }
    m = weight * m + (1 - weight) * y;
    n += 1;
    out[i] = m / (1 - Math.pow(weight, n));
  }
  return out;
}

function card(parent, title, id) {
  let div = document.getElementById(id);
  if (!div) {
    div = document.createElement("div");
    div.className = "card";
    div.id = id;
    div.innerHTML = `<h3></h3><canvas></canvas><div class="legend"></div>`;
    parent.append(div);
  }
  div.querySelector("h3").textContent = title;
  return div;
}

function niceTicks(lo, hi, count) {
  if (!(hi > lo)) { hi = lo + 1; }
  const span = hi - lo, step0 = Math.pow(10, Math.floor(Math.log10(span / count)));
  const err = span / count / step0;
  const step = step0 * (err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1);
  const ticks = [];
  for (let k = Math.ceil(lo / step); k * step <= hi + step * 1e-9; k++) ticks.push(k === 0 ? 0 : +(k * step).toPrecision(12));
  return ticks;
}

function fmt(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(1) : +v.toPrecision(4) + "";
}

/** The canvas sized to its box in device pixels, cleared, drawn on in CSS pixels. */
function sharpCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 440, h = canvas.clientHeight || 240;
  canvas.width = w * dpr; canvas.height = h * dpr;
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  return { g, w, h };
}

/** Line chart of `series` [{label, color, x[], y[], faint}] on a canvas; log y when `logY`. */
function lineChart(div, series, { logY = false, xLabel = "" } = {}) {
  const { g, w, h } = sharpCanvas(div.querySelector("canvas"));
  // null (a NaN in the run's logs) is a gap, not 0: isFinite(null) is true in JavaScript.
  const tf = (y) => (y == null ? NaN : logY ? (y > 0 ? Math.log10(y) : NaN) : y);
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of series) for (let i = 0; i < s.x.length; i++) {
    const y = tf(s.y[i]);
    if (!isFinite(y)) continue;
    x0 = Math.min(x0, s.x[i]); x1 = Math.max(x1, s.x[i]); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  const L = 52, R = 10, T = 8, B = 26;
  g.font = "11px system-ui"; g.fillStyle = "#6b7280"; g.strokeStyle = "#e5e7eb";
  if (!isFinite(x0)) { g.fillText("no data yet", L, T + 20); div.querySelector(".legend").textContent = ""; return; }
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y1 += 0.5; y0 -= 0.5; }
  const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  const X = (x) => L + (x - x0) / (x1 - x0) * (w - L - R);
  const Y = (y) => T + (1 - (y - y0) / (y1 - y0)) * (h - T - B);
  g.lineWidth = 1;
  for (const t of niceTicks(y0, y1, 5)) {
    g.beginPath(); g.moveTo(L, Y(t)); g.lineTo(w - R, Y(t)); g.stroke();
    g.fillText(logY ? fmt(Math.pow(10, t)) : fmt(t), 4, Y(t) + 4);
  }
  const labelWidth = xLabel ? g.measureText(xLabel).width + 12 : 0;
  for (const t of niceTicks(x0, x1, 6)) if (X(t) + 16 < w - R - labelWidth) g.fillText(fmt(t), X(t) - 8, h - 8);
  if (xLabel) g.fillText(xLabel, w - R - g.measureText(xLabel).width, h - 8);
  for (const s of series) {
    g.strokeStyle = s.color; g.globalAlpha = s.faint ? 0.25 : 1; g.lineWidth = s.faint ? 1 : 1.6;
    g.setLineDash(s.dashed ? [5, 4] : []);
    g.beginPath();
    let pen = false;
    // More points than pixels: draw one per pixel column's worth (min and max kept by the stroke).
    const stride = Math.max(1, Math.floor(s.x.length / (4 * (w - L - R))));
    for (let i = 0; i < s.x.length; i += stride) {
      const y = tf(s.y[i]);
      if (!isFinite(y)) { pen = false; continue; }
      if (pen) g.lineTo(X(s.x[i]), Y(y)); else { g.moveTo(X(s.x[i]), Y(y)); pen = true; }
    }
    if (s.x.length === 1 && isFinite(tf(s.y[0]))) { g.fillStyle = s.color; g.fillRect(X(s.x[0]) - 2, Y(tf(s.y[0])) - 2, 4, 4); }
    g.stroke();
  }
  g.globalAlpha = 1;
  g.setLineDash([]);
  const legend = div.querySelector(".legend");
  legend.textContent = "";
  for (const s of series) if (!s.faint) {
    const span = document.createElement("span");
    span.style.setProperty("--c", s.color);
    span.textContent = s.label + (s.dashed ? " (dashed)" : "");
    legend.append(span);
  }
}

function drawCurves() {
  const parent = $("charts");
  const weight = $("raw").checked ? 0 : +$("smoothing").value;
  const logY = $("logy").checked;
  const ids = [...state.selected];
  // Per batch: loss (smoothed over raw) and learning rate.
  const lossSeries = [], lrSeries = [];
  for (const id of ids) {
    const s = state.steps.get(id);
    if (!s) continue;
    const c = colorOf(id);
    if (weight > 0) lossSeries.push({ label: id, color: c, x: s.step, y: s.loss, faint: true });
    lossSeries.push({ label: id, color: c, x: s.step, y: smooth(s.loss, weight) });
    lrSeries.push({ label: id, color: c, x: s.step, y: s.lr });
  }
  lineChart(card(parent, "loss per batch", "chart-batch-loss"), lossSeries, { logY, xLabel: "step" });
  // When the first curves were on the screen, in ms since navigation started (the load-time check reads it).
  if (window.firstCurvesAt === undefined && lossSeries.some((s) => s.x.length > 0)) window.firstCurvesAt = performance.now();
  // Per epoch: every metric of the history, training and validation together.
  const keys = new Set();
  for (const id of ids) { const d = state.details.get(id); if (d) for (const k of Object.keys(d.history.metrics)) keys.add(k.replace(/^val_/, "")); }
  keys.delete("time"); keys.delete("lr");
  for (const key of [...keys].sort((a, b) => (a === "loss" ? -1 : b === "loss" ? 1 : a.localeCompare(b)))) {
    const series = [];
    for (const id of ids) {
      const d = state.details.get(id);
      if (!d) continue;
      const x = d.history.epochs.map((e) => e + 1);
      const c = colorOf(id);
      if (d.history.metrics[key]) series.push({ label: `${id} ${key}`, color: c, x, y: d.history.metrics[key] });
      if (d.history.metrics["val_" + key]) series.push({ label: `${id} val_${key}`, color: c, x, y: d.history.metrics["val_" + key], faint: false, dashed: true });
    }
    lineChart(card(parent, `${key} per epoch`, `chart-epoch-${key}`), series, { logY: logY && key === "loss", xLabel: "epoch" });
  }
  lineChart(card(parent, "learning rate per batch", "chart-lr"), lrSeries, { logY: true, xLabel: "step" });
}

// ---------- inside the network ----------

async function drawInside() {
  const id = $("inside-run").value || [...state.selected][0];
  const parent = $("inside");
  if (!id) { parent.textContent = "select a run"; return; }
  if (!state.insights.has(id)) await refreshInsights(id);
  const entries = (state.insights.get(id) || { entries: [] }).entries;
  if (!entries.length) { parent.textContent = "this run recorded no statistics (train with --dashboard or --histogram-every N)"; return; }
  if (parent.dataset.run !== id) { parent.textContent = ""; parent.dataset.run = id; }
  const steps = entries.map((e) => e.step);
  const params = entries[entries.length - 1].params.map((p) => p.name);
  const series = (f) => params.map((name, i) => ({ label: name, color: COLORS[i % COLORS.length], x: steps,
    y: entries.map((e) => { const p = e.params.find((p) => p.name === name); return p ? f(p) : null; }) }));
  lineChart(card(parent, "gradient norm per parameter (vanishing / exploding)", "inside-gradnorm"), series((p) => p.grad ? p.grad.norm : null), { logY: true, xLabel: "step" });
  lineChart(card(parent, "update / weight ratio per step", "inside-ratio"), series((p) => p.update_ratio), { logY: true, xLabel: "step" });
  const acts = entries[entries.length - 1].activations.map((a) => a.name);
  const actSeries = (f) => acts.map((name, i) => ({ label: name, color: COLORS[i % COLORS.length], x: steps,
    y: entries.map((e) => { const a = (e.activations || []).find((a) => a.name === name); return a ? f(a) : null; }) }));
  lineChart(card(parent, "activations: share of exact zeros (dead ReLUs)", "inside-zero"), actSeries((a) => a.zero_share), { xLabel: "step" });
  lineChart(card(parent, "activations: standard deviation", "inside-std"), actSeries((a) => a.std), { logY: true, xLabel: "step" });
  for (const name of params) {
    histogramChart(card(parent, `${name}: weights over time`, `inside-w-${name}`), entries, name, "weight");
    histogramChart(card(parent, `${name}: gradients over time`, `inside-g-${name}`), entries, name, "grad");
  }
}

/** Histograms over time: one column per record, darker where more values fall. */
function histogramChart(div, entries, name, which) {
  const { g, w, h } = sharpCanvas(div.querySelector("canvas"));
  const hs = entries.map((e) => { const p = e.params.find((p) => p.name === name); return p ? p[which] : null; });
  let lo = Infinity, hi = -Infinity;
  for (const s of hs) if (s && s.lo != null) { lo = Math.min(lo, s.lo); hi = Math.max(hi, s.hi); }
  const L = 52, T = 8, B = 26, R = 10;
  g.font = "11px system-ui"; g.fillStyle = "#6b7280";
  if (!isFinite(lo)) { g.fillText("no data", L, 20); return; }
  if (hi === lo) { hi += 1e-6; lo -= 1e-6; }
  const Y = (v) => T + (1 - (v - lo) / (hi - lo)) * (h - T - B);
  const colW = (w - L - R) / hs.length;
  hs.forEach((s, i) => {
    if (!s || !s.counts) return;
    const total = s.counts.reduce((a, b) => a + b, 0) || 1;
    const binW = (s.hi - s.lo) / s.counts.length;
    s.counts.forEach((c, k) => {
      if (!c) return;
      const a = Y(s.lo + binW * k), b = Y(s.lo + binW * (k + 1));
      g.fillStyle = `rgba(37, 99, 235, ${Math.min(1, 0.08 + 4 * c / total)})`;
      g.fillRect(L + i * colW, Math.min(a, b), Math.max(colW, 1), Math.max(1, Math.abs(a - b)));
    });
  });
  g.fillStyle = "#6b7280";
  for (const t of niceTicks(lo, hi, 5)) g.fillText(fmt(t), 4, Y(t) + 4);
  g.fillText(`steps ${entries[0].step} to ${entries[entries.length - 1].step}`, L, h - 8);
  div.querySelector(".legend").textContent = "";
}

// ---------- inspect ----------

async function inspect() {
  if (!state.live) { $("inspect-note").textContent = "no live run: start training with --dashboard"; return; }
  const layer = $("inspect-layer").value;
  const a = await getJSON(`/api/inspect?id=${q(state.live)}` + (layer ? `&layer=${q(layer)}` : ""));
  if (a.error) { $("inspect-note").textContent = a.error; return; }
  $("inspect-note").textContent = `step ${a.step}, epoch ${a.epoch + 1}, batch ${a.batch + 1}, loss ${typeof a.loss === "number" ? a.loss.toFixed(5) : a.loss == null ? "-" : String(a.loss)}`;
  const select = $("inspect-layer");
  if (select.options.length !== a.layers.length) {
    select.textContent = "";
    for (const l of a.layers) { const o = document.createElement("option"); o.value = o.textContent = l.name; select.append(o); }
  }
  select.value = a.layer;
  const out = $("inspect");
  out.textContent = "";
  for (const p of a.parameters) {
    out.append(heading(`${p.name} [${p.value.shape.join(", ")}]`));
    if (p.value.shape.length === 4) out.append(imageGrid(p.value, "filters"));
    else out.append(heatmap(p.value, "weights"));
    if (p.grad) out.append(heatmap(p.grad, "gradient"));
    out.append(numberTable(p.value, `inspect-values-${p.name}`));
  }
  if (a.activation) {
    out.append(heading(`output of ${a.layer} on the batch [${a.activation.shape.join(", ")}]`));
    out.append(a.activation.shape.length === 4 ? imageGrid(firstSample(a.activation), "feature maps of the first example") : heatmap(a.activation, "activations"));
  }
  if (a.inputs) {
    out.append(heading(`the batch: inputs, predictions and targets`));
    out.append(batchView(a));
  }
}

function heading(text) { const h = document.createElement("h3"); h.textContent = text; return h; }

function firstSample(t) {
  const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return { shape: [t.shape[1], 1, t.shape[2], t.shape[3]], values: t.values.slice(0, per) };
}

/** A 2-D view of any tensor (rows = first axis) as a blue-white-red heatmap. */
function heatmap(t, title) {
  const rows = t.shape.length ? t.shape[0] : 1;
  // A row is everything after the first axis (the values may stop early: whole rows are drawn).
  const whole = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const cols = Math.max(1, t.shape.length > 1 ? whole : Math.floor(t.values.length / Math.max(rows, 1)));
  const canvas = document.createElement("canvas");
  const scale = Math.max(1, Math.min(24, Math.floor(600 / Math.max(cols, rows))));
  canvas.width = cols * scale; canvas.height = Math.min(rows, Math.ceil(t.values.length / cols)) * scale;
  const g = canvas.getContext("2d");
  const m = t.values.reduce((a, v) => (v == null ? a : Math.max(a, Math.abs(v))), 0) || 1;
  const shown = Math.min(t.values.length, Math.floor(t.values.length / cols) * cols) || t.values.length;
  t.values.slice(0, shown).forEach((v, i) => {
    const r = Math.floor(i / cols), c = i % cols;
    const x = v == null ? 0 : v / m;
    g.fillStyle = v == null ? "#000" : x >= 0 ? `rgb(255,${255 - 200 * x},${255 - 200 * x})` : `rgb(${255 + 200 * x},${255 + 200 * x},255)`;
    g.fillRect(c * scale, r * scale, scale, scale);
  });
  const fig = document.createElement("figure");
  fig.className = "heatmap";
  const cap = document.createElement("figcaption");
  cap.textContent = `${title} (scale ±${fmt(m)})` + (t.truncated ? `, first ${Math.floor(t.values.length / cols)} of ${rows} rows` : "");
  fig.append(canvas, cap);
  return fig;
}

/** Images of a [N, C, H, W] tensor (first channel), each scaled to its own range. */
function imageGrid(t, title) {
  const [n, c, hgt, wid] = t.shape;
  const box = document.createElement("div");
  box.className = "images";
  const per = c * hgt * wid;
  for (let i = 0; i < n && (i + 1) * per <= t.values.length && i < 64; i++) box.append(image(t.values.slice(i * per, i * per + hgt * wid), hgt, wid, ""));
  const fig = document.createElement("figure");
  const cap = document.createElement("figcaption");
  cap.textContent = title;
  fig.append(box, cap);
  return fig;
}

function image(values, hgt, wid, label) {
  const canvas = document.createElement("canvas");
  canvas.width = wid; canvas.height = hgt;
  const scale = Math.max(1, Math.floor(56 / Math.max(hgt, wid)));
  canvas.style.width = `${wid * scale}px`; canvas.style.height = `${hgt * scale}px`;
  const g = canvas.getContext("2d");
  const img = g.createImageData(wid, hgt);
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (v != null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const span = hi > lo ? hi - lo : 1;
  values.forEach((v, i) => { const x = v == null ? 0 : Math.round(255 * (v - lo) / span); img.data.set([x, x, x, 255], 4 * i); });
  g.putImageData(img, 0, 0);
  const fig = document.createElement("figure");
  const cap = document.createElement("figcaption");
  cap.append(...(Array.isArray(label) ? label : [label]));
  fig.append(canvas, cap);
  return fig;
}

/** A caption's two lines as nodes: text only, never markup (class names come from run folders). */
function twoLines(first, second, firstClass = "", secondClass = "") {
  const a = document.createElement("span"), b = document.createElement("span");
  a.className = firstClass; b.className = secondClass;
  a.textContent = first; b.textContent = second;
  return [a, document.createElement("br"), b];
}

function numberTable(t, id) {
  const table = document.createElement("table");
  table.className = "numbers";
  table.id = id;
  const cols = t.shape.length >= 2 ? t.shape[t.shape.length - 1] : t.values.length;
  const shownCols = Math.min(cols, 12), rows = Math.min(Math.ceil(t.values.length / cols), 12);
  for (let r = 0; r < rows; r++) {
    const tr = document.createElement("tr");
    for (let c = 0; c < shownCols; c++) {
      const td = document.createElement("td");
      const v = t.values[r * cols + c];
      td.textContent = v == null ? "nan" : v.toPrecision(6);
      td.dataset.index = r * cols + c;
      tr.append(td);
    }
    table.append(tr);
  }
  return table;
}

function argmax(values, offset, n) { let best = 0; for (let k = 1; k < n; k++) if (values[offset + k] > values[offset + best]) best = k; return best; }

function batchView(a) {
  const box = document.createElement("div");
  box.className = "images";
  const s = a.inputs.shape, n = s[0];
  const per = s.slice(1).reduce((x, y) => x * y, 1);
  const side = Math.round(Math.sqrt(per));
  const isImage = s.length === 4 || (s.length === 2 && side * side === per && per >= 64);
  const classes = a.outputs && a.outputs.shape.length === 2 ? a.outputs.shape[1] : 0;
  for (let i = 0; i < n; i++) {
    const pred = classes > 1 ? argmax(a.outputs.values, i * classes, classes) : a.outputs ? a.outputs.values[i] : null;
    const target = a.targets ? a.targets.values[i] : null;
    const wrong = classes > 1 && target != null && pred !== target;
    const label = twoLines(`predicted ${pred == null ? "-" : classes > 1 ? pred : fmt(pred)}`, `target ${target == null ? "-" : fmt(target)}`,
                           wrong ? "wrong" : "");
    if (isImage) {
      const h = s.length === 4 ? s[2] : side, w = s.length === 4 ? s[3] : side;
      box.append(image(a.inputs.values.slice(i * per, i * per + h * w), h, w, label));
    } else {
      const fig = document.createElement("figure");
      const code = document.createElement("code");
      code.textContent = `[${a.inputs.values.slice(i * per, i * per + Math.min(per, 6)).map((v) => (v == null ? "nan" : fmt(v))).join(", ")}${per > 6 ? ", …" : ""}]`;
      fig.append(code, document.createElement("br"), ...label);
      box.append(fig);
    }
  }
  return box;
}

// ---------- pictures ----------

async function drawPictures() {
  const out = $("pictures");
  // Redrawn only when what it shows changes (runs, their files, their epochs), not on every step
  // of a live run: a redraw put a scrolled samples box back at its top. A newer call wins.
  const shown = JSON.stringify([...state.selected].map((id) => { const d = state.details.get(id); return d ? [id, d.files, d.history.epochs.length] : [id]; }));
  if (shown === state.picturesShown) return;
  state.picturesShown = shown;
  const generation = (state.picturesGeneration = (state.picturesGeneration || 0) + 1);
  const stale = () => generation !== state.picturesGeneration;
  out.textContent = "";
  for (const id of state.selected) {
    const d = state.details.get(id);
    if (!d) continue;
    out.append(heading(id));
    if (!d.files.length) out.append(Object.assign(document.createElement("p"), { className: "muted", textContent: "no pictures yet (written when training ends)" }));
    for (const name of d.files) {
      const url = `/api/file?id=${q(id)}&name=${q(name)}`;
      if (name === "predictions.json") {
        const p = await getJSON(url);
        if (stale()) return;
        const [, h, w] = p.shape;
        const box = document.createElement("div");
        box.className = "images predictions";
        p.images.forEach((values, i) => {
          const wrong = p.predicted[i] !== p.target[i];
          const label = twoLines(String(p.classNames[p.predicted[i]] ?? p.predicted[i]), String(p.classNames[p.target[i]] ?? p.target[i]),
                                 wrong ? "wrong" : "", "muted");
          box.append(image(values.slice(0, h * w), h, w, label));
        });
        out.append(heading("test images: predicted (red when wrong), then true class"), box);
      } else if (name.endsWith(".txt")) {
        const pre = document.createElement("pre");
        pre.className = "samples";
        const text = await (await fetch(url)).text();
        if (stale()) return;
        pre.textContent = text;
        out.append(heading(`${name} (generated samples)`), pre);
      } else if (name.endsWith(".svg")) {
        const img = document.createElement("img");
        img.src = url; img.alt = name; img.title = name;
        out.append(img);
      }
    }
  }
}

// ---------- wiring ----------

function showTab(name) {
  state.tab = name;
  for (const b of document.querySelectorAll("button.tab")) b.classList.toggle("active", b.dataset.tab === name);
  for (const p of document.querySelectorAll(".panel")) p.hidden = p.id !== `tab-${name}`;
  if (name === "inspect") inspect().catch(showError);
  scheduleDraw();
}

function showError(e) { console.warn(e); $("control-message").textContent = String(e.message || e); }

for (const b of document.querySelectorAll("button.tab")) b.addEventListener("click", () => showTab(b.dataset.tab));
$("filter").addEventListener("input", renderRunList);
$("smoothing").addEventListener("input", () => { $("smoothing-value").textContent = (+$("smoothing").value).toFixed(2); scheduleDraw(); });
$("raw").addEventListener("change", scheduleDraw);
$("logy").addEventListener("change", scheduleDraw);
$("inside-run").addEventListener("change", scheduleDraw);
$("pause").addEventListener("click", () => control({ action: "pause" }).catch(showError));
$("resume").addEventListener("click", () => control({ action: "resume" }).catch(showError));
$("step").addEventListener("click", () => control({ action: "step" }).catch(showError));
$("stop").addEventListener("click", () => control({ action: "stop" }).catch(showError));
$("lr-set").addEventListener("click", () => control({ action: "lr", value: +$("lr-input").value }).catch(showError));
$("inspect-refresh").addEventListener("click", () => inspect().catch(showError));
$("inspect-layer").addEventListener("change", () => inspect().catch(showError));
window.addEventListener("resize", scheduleDraw);

loadRuns().then(connect).catch(showError);
