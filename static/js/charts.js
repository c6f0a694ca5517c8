// Small SVG charts of our own: no CDN, no fonts, no inline styles (classes in site.css; SVG presentation
// attributes such as fill are not style and pass the CSP). Every chart is role="img" with a title and a
// text description of its data, lines carry dash patterns and end labels so colour is never the only key.
const NS = "http://www.w3.org/2000/svg";
let uid = 0;

export function el(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined && value !== null) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function frame(width, height, title, description) {
  uid += 1;
  const svg = el("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": `chart-t${uid} chart-d${uid}`,
    preserveAspectRatio: "xMidYMid meet",
  });
  svg.append(el("title", { id: `chart-t${uid}` }, title), el("desc", { id: `chart-d${uid}` }, description));
  return svg;
}

/** Roughly how wide a 12 px bold label is (CJK characters are about twice a Latin letter): room for end labels. */
export function textWidth(text) {
  return [...String(text)].reduce((sum, ch) => sum + (ch.codePointAt(0) > 0x2e80 ? 13 : 7.5), 0);
}

/** About five round-numbered ticks covering [lo, hi]. */
export function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
  const ticks = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-6; v += step) ticks.push(Number(v.toFixed(10)));
  return ticks;
}

const fmt = (v) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(0) : String(Number(v.toFixed(3))));

/**
 * Lines: series = [{label, points: [[x, y], ...], className?}]. Options: xLabel, yLabel, log (y axis),
 * yMin/yMax/xMin/xMax, endLabels, width, height, description (defaults to each series' last point).
 */
export function lineChart({ title, series, xLabel = "", yLabel = "", log = false, yMin, yMax, xMin, xMax,
  endLabels = true, width = 480, height = 280, description, zeroLine = false, xIntegers = false, yFormat, xFormat,
  markers = [] }) {
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!log || y > 0));
  const desc = description ?? series.map((s) => {
    const last = s.points.filter(([, y]) => Number.isFinite(y)).at(-1);
    return last ? `${s.label}: ${fmt(last[1])} (${xLabel} ${fmt(last[0])})` : `${s.label}: —`;
  }).join("; ");
  // Names at the lines' ends when they fit in 40% of the width; otherwise (a phone) a legend under the chart.
  const needed = 12 + Math.max(0, ...series.map((x) => textWidth(x.label)));
  const legend = endLabels && needed > width * 0.4;
  const LEGEND_ROW = 18;
  const svg = frame(width, height + (legend ? series.length * LEGEND_ROW + 6 : 0), title, desc);
  if (!all.length) {
    svg.append(el("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "—"));
    return svg;
  }
  const labelSpace = endLabels && !legend ? needed : 12;
  const m = { left: 52, right: labelSpace, top: 12, bottom: 40 };
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const x0 = xMin ?? Math.min(...xs);
  const x1 = xMax ?? Math.max(...xs);
  // yMin/yMax widen the range but never cut a line: a value outside them would be drawn flat at the edge, and
  // a ReLU clamped at the top of its plot looks as if it saturated.
  let y0 = Math.min(yMin ?? Infinity, ...ys);
  let y1 = Math.max(yMax ?? -Infinity, ...ys);
  if (log) { y0 = 10 ** Math.floor(Math.log10(y0)); y1 = 10 ** Math.ceil(Math.log10(y1)); }
  if (y1 === y0) { y1 += 1; y0 -= log ? 0 : 1; }
  const tx = (x) => m.left + ((x - x0) / (x1 - x0 || 1)) * (width - m.left - m.right);
  const ty = log
    ? (y) => m.top + (1 - (Math.log10(y) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0))) * (height - m.top - m.bottom)
    : (y) => m.top + (1 - (y - y0) / (y1 - y0)) * (height - m.top - m.bottom);
  const yTicks = log
    ? Array.from({ length: Math.round(Math.log10(y1) - Math.log10(y0)) + 1 }, (_, i) => y0 * 10 ** i)
    : niceTicks(y0, y1);
  for (const v of yTicks) {
    svg.append(el("line", { class: "grid", x1: m.left, x2: width - m.right, y1: ty(v), y2: ty(v) }));
    svg.append(el("text", { x: m.left - 6, y: ty(v) + 4, "text-anchor": "end" }, yFormat ? yFormat(v) : log ? `1e${Math.round(Math.log10(v))}` : fmt(v)));
  }
  const xTicks = xIntegers ? niceTicks(x0, x1, Math.min(6, Math.max(1, x1 - x0))).filter(Number.isInteger) : niceTicks(x0, x1, 6);
  for (const v of xTicks) {
    svg.append(el("line", { class: "tick", x1: tx(v), x2: tx(v), y1: height - m.bottom, y2: height - m.bottom + 4 }));
    svg.append(el("text", { x: tx(v), y: height - m.bottom + 16, "text-anchor": "middle" }, xFormat ? xFormat(v) : fmt(v)));
  }
  if (zeroLine && !log && y0 < 0 && y1 > 0) svg.append(el("line", { class: "zero", x1: m.left, x2: width - m.right, y1: ty(0), y2: ty(0) }));
  if (zeroLine && x0 < 0 && x1 > 0) svg.append(el("line", { class: "zero", x1: tx(0), x2: tx(0), y1: m.top, y2: height - m.bottom }));
  svg.append(el("line", { class: "axis", x1: m.left, x2: m.left, y1: m.top, y2: height - m.bottom }));
  svg.append(el("line", { class: "axis", x1: m.left, x2: width - m.right, y1: height - m.bottom, y2: height - m.bottom }));
  svg.append(el("text", { x: (m.left + width - m.right) / 2, y: height - 6, "text-anchor": "middle" }, xLabel));
  svg.append(el("text", { x: 12, y: (m.top + height - m.bottom) / 2, "text-anchor": "middle",
    transform: `rotate(-90 12 ${(m.top + height - m.bottom) / 2})` }, yLabel));
  const ends = [];
  series.forEach((s, i) => {
    const pts = s.points.filter(([, y]) => Number.isFinite(y) && (!log || y > 0));
    if (!pts.length) return;
    const cls = s.className ?? `s${i % 7} d${i % 7}`;
    const clampY = (y) => Math.min(height - m.bottom, Math.max(m.top, ty(y)));
    const d = pts.map(([x, y], k) => `${k ? "L" : "M"}${tx(x).toFixed(1)},${clampY(y).toFixed(1)}`).join("");
    svg.append(el("path", { class: `series ${cls}`, d, "data-label": s.label }));
    if (pts.length <= 30) {
      for (const [x, y] of pts) svg.append(el("circle", { class: `marker${i % 7}`, cx: tx(x), cy: clampY(y), r: 2.2 }));
    }
    const [lx, ly] = pts.at(-1);
    ends.push({ label: s.label, x: tx(lx), y: clampY(ly), i });
  });
  for (const { x, y, className = "marker0" } of markers) {
    if (y >= y0 && y <= y1 && x >= x0 && x <= x1) svg.append(el("circle", { class: `${className} point`, cx: tx(x), cy: ty(y), r: 4.5 }));
  }
  if (legend) {
    series.forEach((s, i) => {
      const y = height + 6 + i * LEGEND_ROW;
      const cls = s.className ?? `s${i % 7} d${i % 7}`;
      svg.append(el("path", { class: `legend-key ${cls}`, d: `M4,${y + 8}L32,${y + 8}` }));
      svg.append(el("text", { x: 40, y: y + 12, class: "label-strong" }, s.label));
    });
  } else if (endLabels) {
    ends.sort((a, b) => a.y - b.y);
    for (let k = 1; k < ends.length; k += 1) ends[k].y = Math.max(ends[k].y, ends[k - 1].y + 12);
    for (const end of ends) svg.append(el("text", { x: width - m.right + 6, y: end.y + 4, class: "label-strong" }, end.label));
  }
  return svg;
}

/** Horizontal bars: items = [{label, value, valueText?, className?}], signed puts zero in the middle. */
export function barChart({ title, items, min = 0, max, width = 480, signed = false, labelWidth = 150 }) {
  // Labels too long for their column (a phone) go on a line of their own above each bar, never cut off.
  const stacked = items.some((it) => textWidth(it.label) + 8 > labelWidth);
  const row = stacked ? 38 : 22;
  const height = items.length * row + 10;
  const svg = frame(width, height, title, items.map((it) => `${it.label}: ${it.valueText ?? fmt(it.value)}`).join("; "));
  const values = items.map((it) => it.value);
  const hi = max ?? Math.max(...values.map(Math.abs), 1e-9);
  const lo = signed ? -hi : min;
  const valueSpace = 70;
  const left = stacked ? 2 : labelWidth;
  const right = width - valueSpace;
  const tx = (v) => left + ((v - lo) / (hi - lo || 1)) * (right - left);
  items.forEach((it, k) => {
    const y = 5 + k * row + (stacked ? 16 : 0);
    const strong = it.className?.includes("is-highlight") ? "label-strong" : undefined;
    svg.append(stacked
      ? el("text", { x: left, y: y - 3, class: strong }, it.label)
      : el("text", { x: left - 6, y: y + 15, "text-anchor": "end", class: strong }, it.label));
    const start = signed ? tx(0) : tx(lo);
    const end = tx(Math.max(lo, Math.min(hi, it.value)));
    svg.append(el("rect", {
      class: `hbar ${it.className ?? (signed ? (it.value >= 0 ? "is-positive" : "is-negative") : "")}`,
      x: Math.min(start, end), y: y + 3, width: Math.max(1, Math.abs(end - start)), height: 14, rx: 2,
    }));
    svg.append(el("text", { x: right + 6, y: y + 15 }, it.valueText ?? fmt(it.value)));
  });
  if (signed) svg.append(el("line", { class: "axis", x1: tx(0), x2: tx(0), y1: 2, y2: height - 2 }));
  return svg;
}

/** A grid of cells, darker for larger values; negative values in a second hue when `signed`. */
export function heatmap({ title, description, values, cols, cell = 12, maxAbs }) {
  const rows = Math.ceil(values.length / cols);
  const width = cols * cell;
  const height = rows * cell;
  const svg = frame(width, height, title, description ?? title);
  const top = maxAbs ?? Math.max(...values.filter(Number.isFinite).map(Math.abs), 1e-9);
  values.forEach((v, k) => {
    if (!Number.isFinite(v)) return; // gaps between tiles
    const strength = Math.min(1, Math.abs(v) / top);
    svg.append(el("rect", {
      class: "cell", x: (k % cols) * cell, y: Math.floor(k / cols) * cell, width: cell, height: cell,
      fill: v >= 0 ? "#1d3557" : "#e76f51", "fill-opacity": (0.04 + 0.96 * strength).toFixed(3),
    }));
  });
  return svg;
}
