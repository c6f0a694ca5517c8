// The number pad: a wide pad read live by POST /predict/number; each digit's box drawn over the ink, and each
// digit a button below that shows its ten bars when tapped or focused.
import { ApiError } from "./api.js";
import { renderBars } from "./bars.js";
import { percent, ready, setupLanguageLinks, t } from "./i18n.js";
import { LatestOnly } from "./latest.js";
import { bindKeys, drawingExtent, Pad } from "./pad.js";

/** The number pad's sent pen, a share of its height: the page's pen rule (app/modeling/pen.py, from the pad's
 * data attributes) applied to the tallest stroke instead of the whole drawing, whose width is the number's, not
 * one digit's (numbers_eval.number_pen_width does the same). */
export function numberPen(strokes, rule) {
  let tallest = 0;
  for (const stroke of strokes) {
    let low = Infinity;
    let high = -Infinity;
    for (const [, y] of stroke) { low = Math.min(low, y); high = Math.max(high, y); }
    if (stroke.length) tallest = Math.max(tallest, high - low);
  }
  return Math.min(rule.pad, Math.max(rule.sentMin, rule.sentRatio * tallest));
}

const $ = (id) => document.getElementById(id);
const ui = {
  pad: $("number-pad"), invite: $("number-invite"), boxes: $("number-boxes"), undo: $("undo"), clear: $("clear"),
  read: $("number-read"), status: $("number-status"), heading: $("number-detail-heading"), bars: $("bars"),
  timing: $("number-timing"),
};
const state = { answer: null, selected: 0 };

setupLanguageLinks();
await ready;
// The pad's shape and the size of the PNG it sends come from app/modeling/pen.py (the template's data attributes).
const ASPECT = Number(ui.pad.dataset.aspect);
const SENT_HEIGHT = Number(ui.pad.dataset.sentHeight);
const SENT_WIDTH = ASPECT * SENT_HEIGHT;
if (!(ASPECT > 0 && SENT_HEIGHT > 0)) throw new Error("the number pad has no data-aspect / data-sent-height");
const pad = new Pad(ui.pad, { aspect: ASPECT, exportWidth: SENT_WIDTH, exportHeight: SENT_HEIGHT, exportPen: numberPen });
bindKeys(pad);

async function readNumber(image) {
  const response = await fetch("/predict/number", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ image }),
  });
  let body = null;
  try { body = await response.json(); } catch { /* an empty or non-JSON body */ }
  if (!response.ok) throw new ApiError(response.status, body?.detail ?? response.statusText);
  return body;
}

// A writing hand's first instant is a dot, and a dot in the sent image is too little ink to read (the server
// answers "blank"): the drawing is sent once it spans this share of the pad's height.
const MIN_SENT_EXTENT = 0.05;

let lastSent = -1;
const live = new LatestOnly({
  snapshot: () => {
    if (pad.isBlank || pad.version === lastSent || drawingExtent(pad.strokes, ASPECT) < MIN_SENT_EXTENT) return null;
    lastSent = pad.version;
    return { version: pad.version, image: pad.toDataURL(), pen: numberPen(pad.strokes, pad.pen), sent: performance.now() };
  },
  send: (job) => readNumber(job.image),
  onResult: show,
  onError: showError,
});

function digitLabel(digit, index, count) {
  return t("number.digit_button", {
    position: index + 1, count, digit: digit.digit, percent: percent(Math.max(...digit.probabilities)),
    verdict: t(`number.verdict.${digit.verdict}`),
  });
}

function show(result, job) {
  if (pad.isBlank) return; // cleared while the request was out
  state.answer = result;
  state.selected = Math.min(state.selected, result.digits.length - 1);
  ui.read.replaceChildren(...result.digits.map((digit, index) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `number-digit is-${digit.verdict}`;
    button.textContent = String(digit.digit);
    button.dataset.testid = `number-digit-${index}`;
    button.setAttribute("aria-label", digitLabel(digit, index, result.digits.length));
    button.addEventListener("click", () => select(index));
    button.addEventListener("focus", () => select(index));
    return button;
  }));
  ui.read.dataset.number = result.number;
  ui.read.dataset.version = String(job.version);
  // The boxes fit the sent image's thinner pen; the pad shows a wider one, so they grow by the difference.
  const grow = (Math.max(0, pad.pen.pad - job.pen) / 2) * SENT_HEIGHT;
  ui.boxes.replaceChildren(...result.digits.map((digit, index) => {
    const [x0, y0, x1, y1] = [digit.box[0] - grow, digit.box[1] - grow, digit.box[2] + grow, digit.box[3] + grow];
    const box = document.createElement("div");
    box.className = `number-box is-${digit.verdict}`;
    box.dataset.index = String(index);
    box.style.left = `${(100 * x0) / SENT_WIDTH}%`;
    box.style.top = `${(100 * y0) / SENT_HEIGHT}%`;
    box.style.width = `${(100 * (x1 - x0)) / SENT_WIDTH}%`;
    box.style.height = `${(100 * (y1 - y0)) / SENT_HEIGHT}%`;
    const label = document.createElement("span");
    label.className = "number-box-label";
    label.textContent = String(digit.digit);
    box.append(label);
    return box;
  }));
  ui.status.textContent = t("number.status_read", { number: result.number, count: result.digits.length });
  ui.timing.textContent = t("number.timing", {
    server: result.elapsed_ms.toFixed(1), total: (performance.now() - job.sent).toFixed(0),
  });
  select(state.selected);
}

/** Show one digit's ten bars (and mark its box and button). */
function select(index) {
  const digits = state.answer?.digits ?? [];
  if (!digits.length) return;
  state.selected = Math.max(0, Math.min(index, digits.length - 1));
  const digit = digits[state.selected];
  renderBars(ui.bars, digit.probabilities);
  ui.bars.dataset.digitIndex = String(state.selected);
  ui.heading.textContent = t("number.detail_heading", {
    position: state.selected + 1, count: digits.length, digit: digit.digit,
  });
  ui.read.querySelectorAll(".number-digit").forEach((button, i) => {
    button.setAttribute("aria-pressed", String(i === state.selected));
  });
  ui.boxes.querySelectorAll(".number-box").forEach((box, i) => box.classList.toggle("is-selected", i === state.selected));
}

function showError(error) {
  if (error instanceof ApiError && error.status === 422 && pad.isBlank) return;
  ui.status.textContent = error instanceof ApiError
    ? t("number.status_error", { detail: error.message })
    : t("number.status_offline");
}

function reset() {
  state.answer = null;
  state.selected = 0;
  ui.read.replaceChildren();
  ui.read.dataset.number = "";
  ui.boxes.replaceChildren();
  renderBars(ui.bars, null);
  ui.heading.textContent = t("number.detail_empty");
  ui.status.textContent = t("number.status_invite");
  ui.timing.textContent = "";
}

pad.addEventListener("change", (event) => {
  ui.undo.disabled = pad.isBlank;
  ui.clear.disabled = pad.isBlank;
  ui.invite.classList.toggle("is-hidden", !pad.isBlank);
  ui.pad.setAttribute("aria-label", pad.isBlank ? t("number.pad_label")
    : t("number.pad_label_drawn", { strokes: pad.strokes.length, number: state.answer?.number ?? "…" }));
  if (pad.isBlank) {
    live.cancel();
    lastSent = -1;
    reset();
    return;
  }
  live.request(); // live while writing: LatestOnly keeps one request in flight, the newest drawing wins
});
ui.undo.addEventListener("click", () => pad.undo());
ui.clear.addEventListener("click", () => pad.clear());
document.body.dataset.ready = "true";
