// The drawing page: pad → live predictions (one request in flight, newest wins) → bars, digit, preview,
// and optionally every model side by side.
import * as api from "./api.js";
import { renderBars } from "./bars.js";
import { renderCompare } from "./compare.js";
import { percent, ready, setupLanguageSelect, t } from "./i18n.js";
import { LatestOnly } from "./latest.js";
import { bindKeys, loadStrokes, Pad, saveStrokes } from "./pad.js";
import { renderPreview } from "./preview.js";
import { nextSample } from "./samples.js";

const $ = (id) => document.getElementById(id);
const ui = {
  pad: $("pad"), invite: $("pad-invite"), badge: $("pad-badge"), undo: $("undo"), clear: $("clear"), sample: $("sample"),
  prediction: $("prediction"), status: $("status"), bars: $("bars"), preview: $("preview"), timing: $("timing"),
  model: $("model-select"), compareToggle: $("compare-toggle"), compare: $("compare"), compareGrid: $("compare-grid"),
};
const MODEL_KEY = "digit-lab.model";
const state = { model: "", titles: {}, compare: false, strokeEnds: [], answer: null };
// End-of-stroke → bars-updated times (ms), for the browser tests' latency report.
const latencies = [];
window.digitLab = { latencies };

setupLanguageSelect($("lang-select"));
await ready;
const pad = new Pad(ui.pad);
bindKeys(pad);

let lastSent = ""; // what the last request asked: the same drawing, model and view is never sent twice
function snapshot() {
  const key = `${pad.version}|${state.model}|${state.compare}`;
  if (pad.isBlank || key === lastSent) return null;
  lastSent = key;
  return { version: pad.version, image: pad.toDataURL(), model: state.model, compare: state.compare, sent: performance.now() };
}

const live = new LatestOnly({
  snapshot,
  send: (job) => (job.compare ? api.compare(job.image) : api.predict(job.image, job.model)),
  onResult: show,
  onError: showError,
});

function fromCompare(result, job) {
  const answer = result.answers.find((a) => a.model === job.model) ?? result.answers[0];
  return { ...answer, input: result.input, elapsed_ms: result.elapsed_ms };
}

function show(result, job) {
  if (pad.isBlank) return; // cleared while the request was out
  const answer = job.compare ? fromCompare(result, job) : result;
  renderBars(ui.bars, answer.probabilities);
  ui.prediction.textContent = String(answer.digit);
  ui.badge.textContent = String(answer.digit); // on a phone the bars are below the pad: the answer shows on it
  renderPreview(ui.preview, answer.input);
  window.digitLab.input = answer.input; // the 28x28 image the model saw, for the tests
  ui.bars.dataset.model = answer.model;
  ui.bars.dataset.version = String(job.version);
  if (job.compare) renderCompare(ui.compareGrid, result.answers, state.titles, answer.model);
  const total = performance.now() - job.sent;
  ui.timing.textContent = t("result.timing", {
    server: answer.elapsed_ms.toFixed(1), total: total.toFixed(0), model: state.titles[answer.model] ?? answer.model,
  });
  state.answer = answer;
  if (!pad.isDrawing) announce(answer);
  const now = performance.now();
  for (const end of state.strokeEnds.filter((e) => e.version <= job.version)) {
    latencies.push(now - end.at);
    ui.bars.dataset.latencyMs = (now - end.at).toFixed(1);
  }
  state.strokeEnds = state.strokeEnds.filter((e) => e.version > job.version);
}

/** Say the answer in words (status line, canvas description) once a stroke is done, not at every move. */
function announce(answer) {
  ui.status.textContent = t("result.answer", { digit: answer.digit, percent: percent(answer.probabilities[answer.digit]) });
  ui.status.classList.remove("is-error");
  ui.pad.setAttribute("aria-label", t("pad.label_drawn", { strokes: pad.strokes.length, digit: answer.digit }));
}

function showError(error, job) {
  lastSent = ""; // a retry of the same drawing is allowed after a failure
  if (pad.isBlank) return;
  resetAnswer();
  ui.status.textContent = error instanceof api.ApiError ? t("result.error", { detail: error.message }) : t("result.offline");
  ui.status.classList.add("is-error");
  ui.bars.dataset.version = String(job.version);
}

function resetAnswer() {
  renderBars(ui.bars, null);
  renderPreview(ui.preview, null);
  ui.prediction.textContent = "";
  ui.badge.textContent = "";
  ui.timing.textContent = "";
  state.answer = null;
  delete ui.bars.dataset.model;
}

function showBlank() {
  live.cancel();
  lastSent = "";
  state.strokeEnds = [];
  resetAnswer();
  ui.status.textContent = t("result.invite");
  ui.status.classList.remove("is-error");
  ui.pad.setAttribute("aria-label", t("pad.label"));
  ui.bars.dataset.version = String(pad.version);
  if (state.compare) renderCompare(ui.compareGrid, null);
}

function setEnabled(button, enabled) {
  if (!enabled && document.activeElement === button) ui.pad.focus(); // keep keyboard focus somewhere useful
  button.disabled = !enabled;
}

pad.addEventListener("change", (event) => {
  const { ended, version, source, at } = event.detail;
  ui.invite.classList.toggle("is-hidden", !pad.isBlank);
  if (ended) {
    saveStrokes(pad);
    setEnabled(ui.undo, !pad.isBlank);
    setEnabled(ui.clear, !pad.isBlank);
  }
  if (pad.isBlank) {
    showBlank();
    return;
  }
  if (ended && source === "pointer") {
    // Lifting the pen adds no ink: if the bars already show this very drawing, they were on time (0 ms).
    if (Number(ui.bars.dataset.version) >= version && state.answer) {
      latencies.push(0);
      announce(state.answer);
    } else {
      state.strokeEnds.push({ version, at });
    }
  }
  live.request();
});

ui.undo.addEventListener("click", () => pad.undo());
ui.clear.addEventListener("click", () => pad.clear());
ui.sample.addEventListener("click", () => {
  const { digit, strokes } = nextSample();
  ui.pad.dataset.sample = String(digit);
  pad.setStrokes(strokes);
});

ui.compareToggle.addEventListener("change", () => {
  state.compare = ui.compareToggle.checked;
  ui.compare.hidden = !state.compare;
  if (pad.isBlank) renderCompare(ui.compareGrid, null);
  else live.request();
});

ui.model.addEventListener("change", () => {
  state.model = ui.model.value;
  try { localStorage.setItem(MODEL_KEY, state.model); } catch { /* storage off */ }
  if (!pad.isBlank) live.request();
});

async function loadModels() {
  try {
    const list = await api.listModels();
    let saved = null;
    try { saved = localStorage.getItem(MODEL_KEY); } catch { /* storage off */ }
    const ids = list.models.map((m) => m.id);
    state.model = ids.includes(saved) ? saved : list.default;
    ui.model.replaceChildren(...list.models.map((m) => {
      state.titles[m.id] = m.title;
      return new Option(t("model.option", { title: m.title, accuracy: percent(m.test_accuracy) }), m.id, false, m.id === state.model);
    }));
    ui.model.value = state.model;
    ui.model.dataset.loaded = "true";
    if (!pad.isBlank) live.request();
  } catch (error) {
    ui.status.textContent = error instanceof api.ApiError ? t("result.error", { detail: error.message }) : t("result.offline");
    ui.status.classList.add("is-error");
  }
}

const restored = loadStrokes();
if (restored.length) pad.setStrokes(restored);
await loadModels();
document.body.dataset.ready = "true";
