// harvester dashboard: vanilla JS, inline SVG charts, data from this service's /api and /report.
"use strict";

const SVG = "http://www.w3.org/2000/svg"; // the SVG namespace name, not a fetched URL

function fmt(value, digits = 2) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") {
    return value.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  return String(value);
}

function pct(value) { return value === null || value === undefined ? "–" : fmt(value * 100, 2) + " %"; }

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(path + ": HTTP " + response.status);
  return response.json();
}

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svgEl(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

// columns: [key, label, kind] with kind in text | num | int | pct | signed
function renderTable(table, rows, columns) {
  table.replaceChildren();
  if (!rows.length) {
    const tr = el("tr"); const td = el("td", { class: "empty text" }, "no rows");
    tr.appendChild(td); table.appendChild(tr); return;
  }
  const head = el("tr");
  for (const [, label, kind] of columns) head.appendChild(el("th", kind === "text" ? { class: "text" } : {}, label));
  table.appendChild(head);
  for (const row of rows) {
    const tr = el("tr");
    for (const [key, , kind] of columns) {
      const v = row[key];
      const attrs = {};
      let text;
      if (kind === "text") { attrs.class = key === "reason" ? "reason" : "text"; text = v ?? "–"; }
      else if (kind === "int") text = v ?? "–";
      else if (kind === "pct") text = pct(v);
      else text = fmt(v);
      if (kind === "signed" && typeof v === "number") attrs.class = v < 0 ? "neg" : "pos";
      tr.appendChild(el("td", attrs, text));
    }
    table.appendChild(tr);
  }
}

// A line chart of (label, value) points drawn into an inline SVG; area fills below for drawdown.
function lineChart(container, points, { cls = "", area = false, percent = false } = {}) {
  container.replaceChildren();
  if (points.length < 1) { container.appendChild(el("div", { class: "empty" }, "no data")); return; }
  const W = 600, H = 220, L = 56, R = 8, T = 10, B = 24;
  const values = points.map((p) => p[1]);
  let lo = Math.min(...values), hi = Math.max(...values);
  if (area) hi = Math.max(hi, 0);
  if (lo === hi) { lo -= 1; hi += 1; }
  const x = (i) => L + (points.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (points.length - 1));
  const y = (v) => T + ((hi - v) * (H - T - B)) / (hi - lo);
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img" });
  svg.appendChild(svgEl("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
  svg.appendChild(svgEl("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
  for (const v of [lo, (lo + hi) / 2, hi]) {
    const t = svgEl("text", { x: L - 4, y: y(v) + 3, "text-anchor": "end" });
    t.textContent = percent ? fmt(v * 100, 1) + "%" : fmt(v, 0);
    svg.appendChild(t);
  }
  for (const i of [0, points.length - 1]) {
    const t = svgEl("text", { x: x(i), y: H - 6, "text-anchor": i === 0 ? "start" : "end" });
    t.textContent = points[i][0];
    svg.appendChild(t);
  }
  const d = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ");
  if (area) {
    const base = y(Math.min(Math.max(0, lo), hi));
    svg.appendChild(svgEl("path", { class: `area ${cls}`, d: `${d} L${x(points.length - 1)},${base} L${x(0)},${base} Z` }));
  }
  svg.appendChild(svgEl("path", { class: `series ${cls}`, d }));
  container.appendChild(svg);
}

function card(label, value) {
  const c = el("div", { class: "card" });
  c.appendChild(el("div", { class: "label" }, label));
  c.appendChild(el("div", { class: "value" }, value));
  return c;
}

function renderEquity(data) {
  const rows = data.rows || [];
  lineChart(document.getElementById("equity-chart"), rows.map((r) => [r.date, r.equity]));
  lineChart(document.getElementById("drawdown-chart"), rows.map((r) => [r.date, -r.drawdown]),
    { cls: "dd", area: true, percent: true });
  return data.latest;
}

function renderCards(latest, positions, report) {
  const cards = document.getElementById("cards");
  cards.replaceChildren(
    card("equity", latest ? fmt(latest.equity) : "–"),
    card("drawdown", latest ? pct(latest.drawdown) : "–"),
    card("day P&L", latest ? fmt(latest.day_pnl) : "–"),
    card("open positions", String(positions.count)),
    card("recommendations", String((report.recommendations || []).length)),
  );
}

function renderSignals(data) {
  document.getElementById("signals-date").textContent = data.date ? `(${data.date})` : "";
  renderTable(document.getElementById("signals"), data.signals, [
    ["symbol", "symbol", "text"], ["strategy", "strategy", "text"], ["direction", "dir", "int"],
    ["score", "score", "num"], ["conviction", "conviction", "num"]]);
  renderTable(document.getElementById("watchlist"), data.watchlist, [
    ["rank", "rank", "int"], ["symbol", "symbol", "text"], ["score", "score", "num"]]);
}

function renderAnalytics(report) {
  document.getElementById("summary").textContent = `${report.analysis_window}: ${report.summary}`;
  renderTable(document.getElementById("analytics"), Object.values(report.performance_by_regime), [
    ["symbol", "symbol", "text"], ["regime", "regime", "text"], ["trades", "trades", "int"],
    ["expectancy", "expectancy", "signed"], ["profit_factor", "PF", "num"], ["win_rate", "win rate", "pct"],
    ["exit_efficiency", "exit eff", "num"], ["adverse_recovery_rate", "recovery", "num"],
    ["avg_hours", "hours", "num"], ["time_efficiency", "P&L/h", "signed"]]);
  renderTable(document.getElementById("recommendations"), report.recommendations, [
    ["symbol", "symbol", "text"], ["regime", "regime", "text"], ["rule_name", "rule", "text"],
    ["action", "action", "text"], ["confidence", "confidence", "num"], ["reason", "reason", "text"]]);
}

function fillSelect(select, values) {
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, "all"));
  for (const v of values) select.appendChild(el("option", { value: v }, v));
  select.value = values.includes(chosen) ? chosen : "";
}

async function loadTrades() {
  const form = document.getElementById("filters");
  const params = new URLSearchParams();
  for (const [k, v] of new FormData(form)) if (v) params.set(k, v);
  params.set("limit", "200");
  const data = await getJson("/api/trades?" + params.toString());
  fillSelect(document.getElementById("f-symbol"), data.filters.symbol);
  fillSelect(document.getElementById("f-regime"), data.filters.regime);
  fillSelect(document.getElementById("f-exit"), data.filters.exit_type);
  document.getElementById("trade-count").textContent = `${data.count} trade(s)`;
  renderTable(document.getElementById("trades"), data.trades, [
    ["exit_date", "exit", "text"], ["symbol", "symbol", "text"], ["strategy", "strategy", "text"],
    ["side", "side", "int"], ["qty", "qty", "num"], ["entry_price", "entry", "num"],
    ["exit_price", "exit price", "num"], ["pnl", "P&L", "signed"], ["trade_return", "return", "pct"],
    ["exit_reason", "exit type", "text"], ["regime", "regime", "text"]]);
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const [equity, positions, signals, report, health] = await Promise.all([
      getJson("/api/equity"), getJson("/api/positions"), getJson("/api/signals"),
      getJson("/report"), getJson("/health")]);
    const latest = renderEquity(equity);
    renderCards(latest, positions, report);
    renderTable(document.getElementById("positions"), positions.positions, [
      ["symbol", "symbol", "text"], ["strategy", "strategy", "text"], ["side", "side", "int"],
      ["qty", "qty", "num"], ["avg_price", "avg price", "num"], ["stop", "stop", "num"],
      ["target", "target", "num"]]);
    renderSignals(signals);
    renderAnalytics(report);
    await loadTrades();
    status.textContent = `${health.status} · ${health.database} · updated ${report.generated_at}`;
  } catch (error) {
    status.textContent = "error: " + error.message;
  }
}

document.getElementById("filters").addEventListener("change", () => { loadTrades(); });
refresh();
setInterval(refresh, 30000);
