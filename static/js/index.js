// The drawing page: pad → live predictions (one request in flight, at most one start per REQUEST_INTERVAL_MS
// while the pen moves, one more when it is lifted) → answer, bars, preview, and optionally every model side by side.
import * as api from "./api.js";
import { renderBars } from "./bars.js";
import { renderCompare } from "./compare.js";
import { modelTitle, percent, ready, readsDigit, setupLanguageLinks, sortModels, t } from "./i18n.js";
import { LatestOnly } from "./latest.js";
import { bindKeys, loadStrokes, Pad, saveStrokes } from "./pad.js";
import { renderPreview } from "./preview.js";
import { nextSample } from "./samples.js";
import { readShared, shareUrl } from "./share.js";
import { renderVerdict, verdictText } from "./verdict.js";

const $ = (id) => document.getElementById(id);
const ui = {
  pad: $("pad"), invite: $("pad-invite"), undo: $("undo"), clear: $("clear"), sample: $("sample"),
  prediction: $("prediction"), confidence: $("confidence"), verdict: $("verdict"), status: $("status"), bars: $("bars"),
  preview: $("preview"), timing: $("timing"), model: $("model-select"), compareToggle: $("compare-toggle"),
  compare: $("compare"), compareGrid: $("compare-grid"), share: $("share"), shareStatus: $("share-status"),
};
const MODEL_KEY = "digit-lab.model";
// ~10 answers a second while drawing is live enough to watch, and a few dozen requests per digit, not hundreds.
const REQUEST_INTERVAL_MS = 100;
// strokeEnds: pen-ups still waiting for the bars of their drawing (a second stroke may start before they come).
const state = { model: "", titles: {}, compare: false, strokeEnds: [], answer: null, ids: [] };
// For the browser tests: pen-up → final bars (ms) per stroke, and the requests sent.
const report = { latencies: [], requests: 0, inFlight: 0, maxInFlight: 0 };
window.digitLab = report;

setupLanguageLinks();
await ready;
const pad = new Pad(ui.pad);
bindKeys(pad);

let lastSent = ""; // what the last request asked: the same drawing, model and view is not sent twice while drawing
const jobKey = () => `${pad.version}|${state.model}|${state.compare}`;
function snapshot() {
  const key = jobKey();
  if (pad.isBlank || key === lastSent) return null;
  lastSent = key;
  return { key, version: pad.version, image: pad.toDataURL(), model: state.model, compare: state.compare };
}

async function send(job) {
  report.requests += 1;
  report.inFlight += 1;
  report.maxInFlight = Math.max(report.maxInFlight, report.inFlight);
  try {
    job.sent = performance.now();
    return await (job.compare ? api.compare(job.image) : api.predict(job.image, job.model));
  } finally {
    report.inFlight -= 1;
  }
}

const live = new LatestOnly({ snapshot, send, onResult: show, onError: showError, interval: REQUEST_INTERVAL_MS });

function fromCompare(result, job) {
  const answer = result.answers.find((a) => a.model === job.model) ?? result.answers[0];
  return { ...answer, input: result.input, elapsed_ms: result.elapsed_ms };
}

function show(result, job) {
  if (pad.isBlank) return; // cleared while the request was out
  const answer = job.compare ? fromCompare(result, job) : result;
  renderBars(ui.bars, answer.probabilities);
  renderVerdict(ui.verdict, ui.bars, answer);
  ui.prediction.textContent = String(answer.digit);
  ui.confidence.textContent = t("result.confidence", { percent: percent(answer.probabilities[answer.digit]) });
  renderPreview(ui.preview, answer.input);
  report.input = answer.input; // the 28x28 image the model saw, for the tests
  ui.bars.dataset.model = answer.model;
  ui.bars.dataset.version = String(job.version);
  if (job.compare) renderCompare(ui.compareGrid, result.answers, state.titles, answer.model, state.ids);
  state.answer = answer;
  // The answer to the drawing as the pen left it (or a later one): pen-up → these bars, never 0 for
  // "already current".
  const answered = state.strokeEnds.filter((end) => job.version >= end.version && job.sent >= end.sentAfter);
  for (const end of answered) {
    const waited = performance.now() - end.at;
    report.latencies.push(waited);
    ui.bars.dataset.latencyMs = waited.toFixed(1);
  }
  state.strokeEnds = state.strokeEnds.filter((end) => !answered.includes(end));
  ui.timing.textContent = t("result.timing", {
    server: answer.elapsed_ms.toFixed(1), total: (performance.now() - job.sent).toFixed(0),
    model: state.titles[answer.model] ?? answer.model,
  });
  if (!pad.isDrawing) announce(answer);
}

/** Say the answer in words (status line, canvas description) once a stroke is done, not at every move. */
function announce(answer) {
  ui.status.textContent = verdictText(answer)
    || t("result.answer", { reads: readsDigit(answer.digit), percent: percent(answer.probabilities[answer.digit]) });
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
  state.strokeEnds = [];
}

function resetAnswer() {
  renderBars(ui.bars, null);
  renderVerdict(ui.verdict, ui.bars, null);
  renderPreview(ui.preview, null);
  ui.prediction.textContent = "";
  ui.confidence.textContent = "";
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

/** Ask now, for the drawing as it is: after the pen is lifted, an undo, a new model or a shared link. */
function askNow() {
  // A request already carrying this drawing is the answer to wait for; otherwise one more leaves, even if
  // these bars came from an earlier request for the same drawing.
  if (live.inFlight?.key !== jobKey()) lastSent = "";
  live.request({ now: true });
}

pad.addEventListener("change", (event) => {
  const { ended, version, source, at } = event.detail;
  ui.invite.classList.toggle("is-hidden", !pad.isBlank);
  if (ended) {
    saveStrokes(pad);
    setEnabled(ui.undo, !pad.isBlank);
    setEnabled(ui.clear, !pad.isBlank);
    ui.share.disabled = pad.isBlank;
    ui.shareStatus.textContent = "";
    if (window.location.hash) history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  if (pad.isBlank) {
    showBlank();
    return;
  }
  if (!ui.model.dataset.loaded) return; // asked once the models are known
  if (!ended) {
    live.request();
    return;
  }
  if (source === "pointer") {
    const inFlight = live.inFlight?.key === jobKey();
    state.strokeEnds.push({ version, at, sentAfter: inFlight ? live.inFlight.sent : at });
  }
  askNow();
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
  else askNow();
});

function chooseModel(id) {
  state.model = id;
  ui.model.value = id;
  try { localStorage.setItem(MODEL_KEY, id); } catch { /* storage off */ }
}

ui.model.addEventListener("change", () => {
  chooseModel(ui.model.value);
  if (!pad.isBlank) askNow();
});

ui.share.addEventListener("click", async () => {
  const url = shareUrl(pad.strokes, state.model);
  history.replaceState(null, "", url); // the address bar holds the link too, whatever the clipboard allows
  let copied = false;
  try {
    await navigator.clipboard.writeText(url);
    copied = true;
  } catch { /* no clipboard (plain http, or refused): the address bar has it */ }
  ui.shareStatus.textContent = t(copied ? "share.copied" : "share.in_address_bar");
  ui.share.dataset.url = url;
});

/** A shared link (#d=…&m=…) redraws its drawing with its model and asks again. */
function openShared() {
  const shared = readShared(window.location.hash);
  if (!shared) return false;
  if (shared.model && state.ids.includes(shared.model)) chooseModel(shared.model);
  pad.setStrokes(shared.strokes);
  ui.shareStatus.textContent = t("share.opened");
  history.replaceState(null, "", window.location.pathname + window.location.search);
  return true;
}
window.addEventListener("hashchange", () => { if (state.ids.length) openShared(); });

async function loadModels() {
  try {
    const list = await api.listModels();
    let saved = null;
    try { saved = localStorage.getItem(MODEL_KEY); } catch { /* storage off */ }
    const models = sortModels(list.models);
    state.ids = models.map((m) => m.id);
    state.model = state.ids.includes(saved) ? saved : list.default;
    ui.model.replaceChildren(...models.map((m) => {
      state.titles[m.id] = modelTitle(m);
      return new Option(t("model.option", { title: state.titles[m.id], accuracy: percent(m.test_accuracy) }), m.id, false, m.id === state.model);
    }));
    ui.model.value = state.model;
    ui.model.dataset.loaded = "true";
    return true;
  } catch (error) {
    ui.status.textContent = error instanceof api.ApiError ? t("result.error", { detail: error.message }) : t("result.offline");
    ui.status.classList.add("is-error");
    return false;
  }
}

const shared = readShared(window.location.hash);
const restored = shared ? [] : loadStrokes();
if (restored.length) pad.setStrokes(restored); // drawn at once; asked as soon as the models are known
if (await loadModels()) {
  if (!openShared() && !pad.isBlank) askNow();
}
document.body.dataset.ready = "true";
