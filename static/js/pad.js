// The drawing pad: Pointer Events (mouse, touch, pen), strokes kept in unit coordinates (0..1) so the
// drawing survives resizes and renders crisply at any devicePixelRatio, and is exported at a fixed size.

/** The pen rule (app/modeling/pen.py, given to the page as the pad's data attributes): the pad shows a pen of
 * `pad` of its side; the image it sends is drawn again with a pen proportional to the drawing's longest side,
 * so a digit written small is not a blob once the server scales it up to MNIST's 20-pixel box. */
export function penRule(canvas) {
  const d = canvas.dataset;
  const rule = { pad: Number(d.pen), sentRatio: Number(d.sentPenRatio), sentMin: Number(d.sentPenMin),
    sentSide: Number(d.sentSide) };
  if (!Object.values(rule).every((v) => v > 0)) throw new Error("the pad has no pen rule (data-pen, data-sent-*)");
  return rule;
}

/** The drawing's larger side in pad heights (unit coordinates; x runs over the pad's width, `aspect` heights);
 * 0 for no points. */
export function drawingExtent(strokes, aspect = 1) {
  const points = strokes.flat();
  if (points.length === 0) return 0;
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  return Math.max((Math.max(...xs) - Math.min(...xs)) * aspect, Math.max(...ys) - Math.min(...ys));
}

/** The sent image's pen for these strokes (unit coordinates), a share of the pad's side. */
export function sentPenWidth(strokes, rule) {
  return Math.min(rule.pad, Math.max(rule.sentMin, rule.sentRatio * drawingExtent(strokes)));
}
const MIN_STEP = 0.004; // ignore moves shorter than this (unit coordinates): jitter, not drawing

/** Paint strokes on a 2D context of `size` x `height` pixels (square by default): white page, black
 * round-capped ink, a pen of `width` (a share of the pad's side; of its height, for a wide pad). */
export function paint(ctx, size, strokes, width, height = size) {
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, size, height);
  ctx.strokeStyle = "#000";
  ctx.fillStyle = "#000";
  ctx.lineWidth = width * height;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const stroke of strokes) {
    const pts = stroke.map(([x, y]) => [x * size, y * height]);
    if (pts.length === 0) continue;
    if (pts.length === 1) {
      ctx.beginPath();
      ctx.arc(pts[0][0], pts[0][1], ctx.lineWidth / 2, 0, Math.PI * 2);
      ctx.fill();
      continue;
    }
    // Smooth: a quadratic curve through the midpoints, with each sampled point as the control point.
    ctx.beginPath();
    ctx.moveTo(pts[0][0], pts[0][1]);
    for (let i = 1; i < pts.length - 1; i += 1) {
      const midX = (pts[i][0] + pts[i + 1][0]) / 2;
      const midY = (pts[i][1] + pts[i + 1][1]) / 2;
      ctx.quadraticCurveTo(pts[i][0], pts[i][1], midX, midY);
    }
    const last = pts[pts.length - 1];
    ctx.lineTo(last[0], last[1]);
    ctx.stroke();
  }
  ctx.restore();
}

export class Pad extends EventTarget {
  /** `aspect` (width / height), the exported image's size and its pen (`exportPen(strokes, rule)`, a share of
   * the height) let a wide pad share this class; the defaults are the square single-digit pad. */
  constructor(canvas, { aspect = 1, exportWidth = null, exportHeight = null, exportPen = null } = {}) {
    super();
    this.canvas = canvas;
    this.aspect = aspect;
    this.exportPen = exportPen;
    this.ctx = canvas.getContext("2d");
    this.strokes = [];
    this.pen = penRule(canvas);
    this.active = null; // { id, stroke } while a pointer is down
    this.version = 0; // bumped on every change; answers are matched to drawings by it
    this.frame = 0;
    canvas.dataset.version = "0";
    canvas.dataset.strokes = "0";
    this.exportCanvas = document.createElement("canvas");
    this.exportCanvas.width = exportWidth ?? this.pen.sentSide;
    this.exportCanvas.height = exportHeight ?? this.pen.sentSide;
    this.exportCtx = this.exportCanvas.getContext("2d");
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    canvas.addEventListener("pointerup", (e) => this.up(e));
    canvas.addEventListener("pointercancel", (e) => this.up(e));
    canvas.addEventListener("lostpointercapture", (e) => this.up(e));
    canvas.addEventListener("contextmenu", (e) => e.preventDefault());
    new ResizeObserver(() => this.resize()).observe(canvas);
    this.resize();
  }

  get isBlank() { return this.strokes.length === 0; }
  get isDrawing() { return this.active !== null; }

  /** Match the backing store to the CSS size times devicePixelRatio, so lines stay crisp on HiDPI. */
  resize() {
    const width = Math.max(1, Math.round(this.canvas.getBoundingClientRect().width * (window.devicePixelRatio || 1)));
    const height = Math.max(1, Math.round(width / this.aspect));
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    this.render();
  }

  render() {
    this.frame = 0;
    paint(this.ctx, this.canvas.width, this.strokes, this.pen.pad, this.canvas.height);
  }

  scheduleRender() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  }

  point(e) {
    const box = this.canvas.getBoundingClientRect();
    const clamp = (v) => Math.min(1, Math.max(0, v));
    return [clamp((e.clientX - box.left) / box.width), clamp((e.clientY - box.top) / box.height)];
  }

  down(e) {
    if (!e.isPrimary || this.active || (e.pointerType === "mouse" && e.button !== 0)) return;
    e.preventDefault();
    this.canvas.setPointerCapture?.(e.pointerId);
    this.canvas.dataset.pointerType = e.pointerType; // which device drew last (the tests check touch)
    const stroke = [this.point(e)];
    this.strokes.push(stroke);
    this.active = { id: e.pointerId, stroke };
    this.changed({ ended: false, source: "pointer" });
  }

  move(e) {
    if (!this.active || e.pointerId !== this.active.id) return;
    e.preventDefault();
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    let added = false;
    for (const event of events.length ? events : [e]) {
      const [x, y] = this.point(event);
      const stroke = this.active.stroke;
      const [lx, ly] = stroke[stroke.length - 1];
      if (Math.hypot(x - lx, y - ly) >= MIN_STEP) {
        stroke.push([x, y]);
        added = true;
      }
    }
    if (added) this.changed({ ended: false, source: "pointer" });
  }

  up(e) {
    if (!this.active || e.pointerId !== this.active.id) return;
    this.active = null;
    // Lifting the pointer adds no ink: same version, so an answer already on its way still counts.
    this.changed({ ended: true, source: "pointer", at: e.timeStamp, modified: false });
  }

  /** Every change bumps the version and tells listeners whether a stroke (or an edit) just ended. */
  changed({ ended, source, at = performance.now(), modified = true }) {
    if (modified) this.version += 1;
    this.canvas.dataset.strokes = String(this.strokes.length);
    this.canvas.dataset.version = String(this.version);
    this.scheduleRender();
    this.dispatchEvent(new CustomEvent("change", { detail: { ended, source, at, version: this.version } }));
  }

  undo() {
    if (this.isBlank || this.active) return;
    this.strokes.pop();
    this.changed({ ended: true, source: "undo" });
  }

  clear() {
    if (this.isBlank) return;
    this.active = null;
    this.strokes = [];
    this.changed({ ended: true, source: "clear" });
  }

  /** Replace the drawing (a restored or example drawing): a list of strokes of [x, y] in 0..1. */
  setStrokes(strokes) {
    this.active = null;
    this.strokes = strokes.map((stroke) => stroke.map(([x, y]) => [Number(x), Number(y)]));
    this.changed({ ended: true, source: "set" });
  }

  /** The drawing as a PNG data URL at a fixed size, whatever the screen. */
  toDataURL() {
    const { width, height } = this.exportCanvas;
    paint(this.exportCtx, width, this.strokes, (this.exportPen ?? sentPenWidth)(this.strokes, this.pen), height);
    return this.exportCanvas.toDataURL("image/png");
  }
}

/** Escape or Delete clears, Ctrl/Cmd+Z undoes — unless the person is typing or choosing in a field. */
export function bindKeys(pad) {
  document.addEventListener("keydown", (e) => {
    const target = e.target;
    const typing = target?.tagName === "SELECT" || target?.tagName === "TEXTAREA" || target?.isContentEditable
      || (target?.tagName === "INPUT" && !["checkbox", "radio", "button"].includes(target.type));
    if (typing) return;
    if ((e.key === "Escape" || e.key === "Delete") && !e.ctrlKey && !e.metaKey && !e.altKey) {
      pad.clear();
      e.preventDefault();
    } else if ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === "z") {
      pad.undo();
      e.preventDefault();
    }
  });
}

const STORAGE_KEY = "digit-lab.strokes";
/** The drawing travels between the page and the lesson (and survives a language switch) in sessionStorage. */
export function saveStrokes(pad) {
  try { sessionStorage.setItem(STORAGE_KEY, JSON.stringify(pad.strokes)); } catch { /* storage off: fine */ }
}
export function loadStrokes() {
  try {
    const strokes = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "[]");
    return Array.isArray(strokes) && strokes.every(Array.isArray) ? strokes : [];
  } catch {
    return [];
  }
}
