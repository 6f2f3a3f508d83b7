/**
 * The live view's page: a spike raster (one row per neuron that fired, event time across), tier
 * activity (results per tier and the latest verdicts) and route weights, fed by server-sent events
 * from /live/events. No external scripts or styles, so it works offline.
 */
export const LIVE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>spikemesh live</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { margin: 0; font: 13px/1.4 system-ui, sans-serif; background: #0f1115; color: #d8dde6; }
  header { display: flex; gap: 24px; align-items: baseline; padding: 10px 16px; border-bottom: 1px solid #262a33; }
  header h1 { font-size: 16px; margin: 0; }
  .stat b { font-size: 18px; color: #fff; }
  #status { margin-left: auto; color: #8a93a3; }
  main { display: grid; grid-template-columns: 3fr 1fr; gap: 12px; padding: 12px 16px; }
  section { background: #161a21; border: 1px solid #262a33; border-radius: 6px; padding: 10px; }
  h2 { font-size: 13px; margin: 0 0 8px; color: #aab3c2; font-weight: 600; }
  #raster { width: 100%; height: 420px; display: block; }
  .bar { display: flex; align-items: center; gap: 6px; margin: 3px 0; }
  .bar span:first-child { width: 150px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .bar i { display: inline-block; height: 10px; background: #5794f2; border-radius: 2px; }
  .bar span:last-child { color: #8a93a3; font-variant-numeric: tabular-nums; }
  ol { margin: 0; padding-left: 18px; max-height: 180px; overflow: auto; color: #aab3c2; }
  .INCIDENT { color: #f2495c; } .ANOMALY { color: #ff9830; } .NORMAL { color: #73bf69; }
</style>
</head>
<body>
<header>
  <h1>spikemesh · live</h1>
  <span class="stat">spikes <b id="spike-count" data-count="0">0</b></span>
  <span class="stat">results <b id="result-count" data-count="0">0</b></span>
  <span id="status">connecting…</span>
</header>
<main>
  <section>
    <h2>Spike raster · neurons × event time</h2>
    <canvas id="raster" data-dots="0"></canvas>
  </section>
  <div>
    <section><h2>Tier activity</h2><div id="tiers"></div><ol id="verdicts"></ol></section>
    <section style="margin-top:12px"><h2>Route weights</h2><div id="weights"></div></section>
  </div>
</main>
<script>
"use strict";
const MAX_ROWS = 48, MAX_SPIKES = 4000;
const spikes = [], results = [], weights = new Map();
let totals = { spikes: 0, results: {} };
const $ = (id) => document.getElementById(id);

function take(batch) {
  for (const s of batch.spikes) spikes.push(s);
  if (spikes.length > MAX_SPIKES) spikes.splice(0, spikes.length - MAX_SPIKES);
  for (const r of batch.results) results.push(r);
  if (results.length > 200) results.splice(0, results.length - 200);
  for (const w of batch.weights) weights.set(w.route, w);
  totals = batch.totals;
  render();
}

function render() {
  $("spike-count").textContent = totals.spikes.toLocaleString();
  $("spike-count").dataset.count = String(totals.spikes);
  const nResults = Object.values(totals.results).reduce((a, b) => a + b, 0);
  $("result-count").textContent = nResults.toLocaleString();
  $("result-count").dataset.count = String(nResults);
  drawRaster();
  const maxTier = Math.max(1, ...Object.values(totals.results));
  $("tiers").innerHTML = Object.entries(totals.results).sort().map(([tier, n]) =>
    '<div class="bar" data-tier="' + esc(tier) + '"><span>' + esc(tier) + '</span><i style="width:' +
    Math.round(120 * n / maxTier) + 'px"></i><span>' + n + '</span></div>').join("");
  $("verdicts").innerHTML = results.slice(-12).reverse().map((r) =>
    '<li><span class="' + esc(r.verdict) + '">' + esc(r.verdict) + '</span> · ' + esc(r.tier) + ' (' +
    esc(r.model) + ', ' + Math.round(r.latencyMs) + ' ms)</li>').join("");
  const maxW = Math.max(1e-9, ...[...weights.values()].map((w) => Math.abs(w.weight)));
  $("weights").innerHTML = [...weights.values()].sort((a, b) => a.route.localeCompare(b.route)).map((w) =>
    '<div class="bar" data-route="' + esc(w.route) + '"><span>' + esc(w.route) + '</span><i style="width:' +
    Math.round(120 * Math.abs(w.weight) / maxW) + 'px;background:#73bf69"></i><span>' + w.weight.toFixed(3) +
    ' (' + w.updates + ')</span></div>').join("");
}

function drawRaster() {
  const canvas = $("raster");
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#161a21";
  ctx.fillRect(0, 0, width, height);
  if (spikes.length === 0) { canvas.dataset.dots = "0"; return; }
  // Rows: the neurons that fired most recently, in order of first appearance.
  const lastSeen = new Map();
  for (const s of spikes) lastSeen.set(s.row, s.t);
  const rows = [...lastSeen.entries()].sort((a, b) => b[1] - a[1]).slice(0, MAX_ROWS).map(([row]) => row).sort();
  const rowIndex = new Map(rows.map((r, i) => [r, i]));
  let t0 = Infinity, t1 = -Infinity;
  for (const s of spikes) { if (s.t < t0) t0 = s.t; if (s.t > t1) t1 = s.t; }
  const span = Math.max(1, t1 - t0), left = 190, rowH = Math.max(4, Math.min(16, (height - 20) / rows.length));
  // Labels shrink with the rows; below 7 px only every other row is labelled.
  const fontPx = Math.max(7, Math.min(11, rowH - 1));
  ctx.font = fontPx + "px system-ui, sans-serif";
  ctx.fillStyle = "#8a93a3";
  rows.forEach((r, i) => {
    if (rowH < 7 && i % 2 === 1) return;
    ctx.fillText(r.length > 32 ? r.slice(0, 31) + "…" : r, 4, 4 + i * rowH + (rowH + fontPx) / 2 - 1);
  });
  let dots = 0;
  for (const s of spikes) {
    const i = rowIndex.get(s.row);
    if (i === undefined) continue;
    const x = left + (width - left - 8) * (s.t - t0) / span;
    const alpha = Math.min(1, 0.35 + 0.25 * s.intensity);
    ctx.fillStyle = "rgba(255, 152, 48, " + alpha + ")";
    ctx.fillRect(Math.round(x) - 1, Math.round(4 + i * rowH), 3, Math.max(2, rowH - 2));
    dots++;
  }
  ctx.fillStyle = "#8a93a3";
  ctx.fillText(new Date(t0).toISOString().slice(11, 19), left, height - 4);
  const end = new Date(t1).toISOString().slice(11, 19);
  ctx.fillText(end, width - 8 - ctx.measureText(end).width, height - 4);
  canvas.dataset.dots = String(dots);
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
}

const source = new EventSource("/live/events");
source.addEventListener("snapshot", (e) => { $("status").textContent = "live"; take(JSON.parse(e.data)); });
source.addEventListener("update", (e) => take(JSON.parse(e.data)));
source.onerror = () => { $("status").textContent = "reconnecting…"; };
window.addEventListener("resize", drawRaster);
</script>
</body>
</html>
`;
