// Myelin's playground: TensorFlow Playground's experience, trained by Myelin on the server.
"use strict";

const $ = (id) => document.getElementById(id);
const pg = { session: null, version: 0, playing: false, hidden: [4, 2], picture: null, polling: 0 };

function config() {
  return {
    dataset: $("dataset").value,
    noise: +$("noise").value / 100,
    trainShare: +$("share").value / 100,
    count: 500,
    seed: 0,
    features: [...document.querySelectorAll(".feature")].filter((b) => b.checked).map((b) => b.value),
    hidden: pg.hidden,
    activation: $("activation").value,
    learningRate: +$("lr").value,
    regularization: $("reg").value,
    regularizationRate: +$("reg-rate").value,
    batchSize: +$("batch").value,
  };
}

async function post(url, body) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const a = await r.json();
  if (!r.ok) throw Object.assign(new Error(a.error || r.statusText), { status: r.status });
  return a;
}

/** A new network and data set: every change of the settings starts over, as in TensorFlow Playground. */
async function reset() {
  const c = config();
  if (!c.features.length) { $("message").textContent = "choose at least one feature"; return; }
  $("message").textContent = "";
  const wasPlaying = pg.playing;
  const a = await post("/api/playground/session", c);
  pg.session = a.session;
  pg.version = 0;
  pg.picture = null;
  poll(pg.session);
  if (wasPlaying) await post(`/api/playground/control?session=${pg.session}`, { action: "play" });
}

async function poll(session) {
  const ticket = ++pg.polling;
  while (session === pg.session && ticket === pg.polling) {
    try {
      const r = await fetch(`/api/playground/state?session=${session}&since=${pg.version}`, { cache: "no-store" });
      if (session !== pg.session) return;
      if (r.status === 200) {
        const p = await r.json();
        pg.version = p.version;
        pg.picture = p;
        requestAnimationFrame(() => draw(p));
      } else if (r.status === 404 && pg.playing) {
        // Ended by newer tabs (see control): start again, and play on.
        await control("play");
        return;
      } else if (r.status !== 204) { await new Promise((ok) => setTimeout(ok, 500)); }
    } catch (e) { await new Promise((ok) => setTimeout(ok, 500)); }
  }
}

async function control(action) {
  if (!pg.session) return;
  try {
    await post(`/api/playground/control?session=${pg.session}`, { action });
  } catch (e) {
    if (e.status !== 404) throw e;
    // The server keeps a few sessions; newer tabs ended this one's. Start it again, as it was set.
    await reset();
    $("message").textContent = "this tab's training was ended by playgrounds opened since; it starts again";
    await post(`/api/playground/control?session=${pg.session}`, { action });
  }
}

// ---------- drawing ----------

/** Orange for negative values, blue for positive, white at 0, as TensorFlow Playground colours them. */
function color(v) {
  const t = Math.max(-1, Math.min(1, v));
  return t >= 0 ? [255 - 200 * t, 255 - 120 * t, 255 - 20 * t] : [255 + 10 * t, 255 + 110 * t, 255 + 200 * t];
}

function paint(canvas, values, side, scale) {
  canvas.width = side; canvas.height = side;
  const g = canvas.getContext("2d");
  const img = g.createImageData(side, side);
  values.forEach((v, i) => { const c = color(scale(v)); img.data.set([c[0], c[1], c[2], 255], 4 * i); });
  g.putImageData(img, 0, 0);
}

function draw(p) {
  $("epoch").textContent = p.epoch;
  $("train-loss").textContent = p.trainLoss == null ? "-" : p.trainLoss.toFixed(3);
  $("test-loss").textContent = p.testLoss == null ? "-" : p.testLoss.toFixed(3);
  drawNetwork(p);
  drawBoundary(p);
  drawLoss(p);
}

function drawNetwork(p) {
  const net = $("network");
  const columns = [["inputs", p.inputs, config().features]].concat(p.neurons.map((layer, i) => [`layer ${i + 1}`, layer, null]));
  if (net.children.length !== columns.length || [...net.children].some((c, i) => c.querySelectorAll("canvas").length !== columns[i][1].length)) {
    net.textContent = "";
    columns.forEach(([title, outputs, names], i) => {
      const col = document.createElement("div");
      col.className = "column";
      const h = document.createElement("h4");
      h.textContent = i === 0 ? title : `${title}: ${outputs.length}`;
      col.append(h);
      if (i > 0) {
        const b = document.createElement("div");
        b.className = "buttons";
        b.innerHTML = `<button data-layer="${i - 1}" data-d="1">+</button><button data-layer="${i - 1}" data-d="-1">−</button>`;
        col.append(b);
      }
      outputs.forEach((_, k) => {
        const c = document.createElement("canvas");
        c.className = "neuron";
        c.title = names ? names[k] : `neuron ${k + 1}`;
        col.append(c);
      });
      net.append(col);
    });
  }
  columns.forEach(([, outputs], i) => {
    const canvases = net.children[i].querySelectorAll("canvas");
    outputs.forEach((values, k) => {
      const m = values.reduce((a, v) => Math.max(a, Math.abs(v ?? 0)), 0) || 1;
      paint(canvases[k], values, p.neuronSide, (v) => (v ?? 0) / m);
    });
  });
}

function drawBoundary(p) {
  const canvas = $("boundary");
  const side = p.boundarySide;
  const off = document.createElement("canvas");
  paint(off, p.boundary, side, (v) => 2 * (v ?? 0.5) - 1);
  const g = canvas.getContext("2d");
  g.imageSmoothingEnabled = true;
  g.drawImage(off, 0, 0, canvas.width, canvas.height);
  const [x0, y0, size] = p.extent;
  const X = (x) => (x - x0) / size * canvas.width, Y = (y) => (y0 + size - y) / size * canvas.height;
  const showTest = $("show-test").checked;
  for (let i = 0; i < p.labels.length; i++) {
    const test = i >= p.trainCount;
    if (test && !showTest) continue;
    g.beginPath();
    g.arc(X(p.points[2 * i]), Y(p.points[2 * i + 1]), 3, 0, 2 * Math.PI);
    g.fillStyle = p.labels[i] > 0.5 ? "#0877bd" : "#f59322";
    g.fill();
    g.strokeStyle = test ? "#000" : "#fff";
    g.lineWidth = 1;
    g.stroke();
  }
}

function drawLoss(p) {
  const canvas = $("loss-chart").querySelector("canvas");
  const w = canvas.clientWidth || 320, h = canvas.clientHeight || 120, dpr = window.devicePixelRatio || 1;
  canvas.width = w * dpr; canvas.height = h * dpr;
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const hist = p.history;
  let top = 0;
  for (const [a, b] of hist) top = Math.max(top, a ?? 0, b ?? 0);
  top = top || 1;
  [[0, "#374151"], [1, "#9ca3af"]].forEach(([k, c]) => {
    g.strokeStyle = c; g.lineWidth = 1.5; g.beginPath();
    hist.forEach((row, i) => {
      const x = hist.length > 1 ? i / (hist.length - 1) * (w - 4) + 2 : 2, y = h - 4 - (row[k] ?? 0) / top * (h - 8);
      if (i) g.lineTo(x, y); else g.moveTo(x, y);
    });
    g.stroke();
  });
  $("loss-chart").querySelector(".legend").innerHTML = `<span style="--c:#374151">train</span><span style="--c:#9ca3af">test</span>`;
}

// ---------- wiring ----------

function setPlaying(on) {
  pg.playing = on;
  $("play").textContent = on ? "Pause" : "Play";
  $("play").classList.toggle("active", on);
}

$("play").addEventListener("click", () => { setPlaying(!pg.playing); control(pg.playing ? "play" : "pause").catch(showError); });
$("step").addEventListener("click", () => { setPlaying(false); control("step").catch(showError); });
$("reset").addEventListener("click", () => reset().catch(showError));
$("add-layer").addEventListener("click", () => { if (pg.hidden.length < 6) { pg.hidden = pg.hidden.concat([2]); changed(); } });
$("remove-layer").addEventListener("click", () => { if (pg.hidden.length > 0) { pg.hidden = pg.hidden.slice(0, -1); changed(); } });
$("network").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-layer]");
  if (!b) return;
  const i = +b.dataset.layer, n = pg.hidden[i] + +b.dataset.d;
  if (n < 1 || n > 8) return;
  pg.hidden = pg.hidden.map((v, k) => (k === i ? n : v));
  changed();
});
for (const [id, out] of [["noise", "noise-value"], ["share", "share-value"], ["batch", "batch-value"]]) {
  $(id).addEventListener("input", () => { $(out).textContent = $(id).value; });
}
for (const el of document.querySelectorAll("select, input[type=range], .feature")) el.addEventListener("change", changed);
$("show-test").addEventListener("change", () => pg.picture && drawBoundary(pg.picture));

function changed() {
  $("layer-count").textContent = pg.hidden.length;
  reset().catch(showError);
}

function showError(e) { $("message").textContent = String(e.message || e); }

reset().catch(showError);
