// The lesson: why a network needs activation functions, told with this server's models and the
// person's own drawing (carried over from the main page in sessionStorage, or drawn on the small pad).
import * as api from "./api.js";
import { barChart, heatmap, lineChart } from "./charts.js";
import { number, percent, ready, setupLanguageSelect, t } from "./i18n.js";
import { LatestOnly } from "./latest.js";
import { bindKeys, loadStrokes, Pad, saveStrokes } from "./pad.js";
import { nextSample } from "./samples.js";

const $ = (id) => document.getElementById(id);
const MODEL_KEY = "digit-lab.model";
setupLanguageSelect($("lang-select"));
await ready;

// 2. The activation functions and their derivatives, sampled here (no data needed).
const sigmoid = (x) => 1 / (1 + Math.exp(-x));
const LEAKY_SLOPE = 0.1; // the slope the leaky-relu model was trained with
export const ACTIVATIONS = {
  sigmoid: [sigmoid, (x) => sigmoid(x) * (1 - sigmoid(x))],
  tanh: [Math.tanh, (x) => 1 - Math.tanh(x) ** 2],
  relu: [(x) => Math.max(0, x), (x) => (x > 0 ? 1 : 0)],
  "leaky-relu": [(x) => (x > 0 ? x : LEAKY_SLOPE * x), (x) => (x > 0 ? 1 : LEAKY_SLOPE)],
  // One maxout unit with two linear pieces, x and -0.5x - 1: a learnt bend at x = -2/3.
  maxout: [(x) => Math.max(x, -0.5 * x - 1), (x) => (x > -2 / 3 ? 1 : -0.5)],
};

function plotActivations() {
  const xs = Array.from({ length: 161 }, (_, i) => -5 + i / 16);
  const figures = Object.entries(ACTIVATIONS).map(([name, [f, df]]) => {
    const figure = document.createElement("figure");
    figure.dataset.activation = name;
    const chart = document.createElement("div");
    chart.className = "chart";
    chart.append(lineChart({
      title: t(`act.${name}`),
      series: [
        { label: t("act.function"), points: xs.map((x) => [x, f(x)]), className: "s0 d0" },
        { label: t("act.derivative"), points: xs.map((x) => [x, df(x)]), className: "s1 derivative" },
      ],
      xLabel: "x", yLabel: "", yMin: -1.5, yMax: 2, width: 260, height: 190, endLabels: false, zeroLine: true,
      description: `${t(`act.${name}`)}. ${t("act.legend")}`,
    }));
    const caption = document.createElement("figcaption");
    caption.textContent = t(`act.${name}`);
    figure.append(chart, caption);
    return figure;
  });
  $("activation-plots").replaceChildren(...figures);
}

// 1. The linear model against the others, from GET /models.
function showAccuracy(list) {
  const items = [...list.models].sort((a, b) => a.test_accuracy - b.test_accuracy).map((m) => ({
    label: m.id, value: m.test_accuracy, valueText: percent(m.test_accuracy),
    className: m.id === "linear" ? "is-highlight" : undefined,
  }));
  $("accuracy-chart").replaceChildren(barChart({ title: t("chart.accuracy_label"), items, max: 1, labelWidth: 90 }));
  const linear = list.models.find((m) => m.id === "linear");
  const others = list.models.filter((m) => m.id !== "linear" && m.kind === "mlp");
  const pool = others.length ? others : list.models.filter((m) => m.id !== "linear");
  const best = pool.sort((a, b) => b.test_accuracy - a.test_accuracy)[0];
  $("accuracy-caption").textContent = linear && best
    ? t("neuron.summary", { linear: percent(linear.test_accuracy), best: percent(best.test_accuracy), bestTitle: best.title })
    : t("neuron.no_linear");
}

// 5. The training evidence, from each model's card.
const hiddenLayers = (record) => Object.keys(record).sort((a, b) => parseInt(a.split("_")[1], 10) - parseInt(b.split("_")[1], 10));

function showCurves(cards) {
  const series = cards.map((card) => ({
    label: card.id,
    points: card.history.filter((h) => h.epoch >= 1 && h.val_accuracy != null).map((h) => [h.epoch, h.val_accuracy]),
  }));
  $("curve-chart").replaceChildren(lineChart({
    title: t("evidence.curves_caption"), series, xLabel: t("chart.epoch"), yLabel: t("chart.accuracy"),
    yMin: 0, yMax: 1, width: 720, height: 320, xIntegers: true,
  }));
}

function showModelEvidence(card) {
  const history = card.history ?? [];
  if (!history.length) {
    $("grad-chart").textContent = t("evidence.no_history");
    $("units-chart").textContent = "";
    $("evidence-summary").textContent = "";
    return;
  }
  const layers = hiddenLayers(history[0].grad_norms ?? {});
  $("grad-chart").replaceChildren(lineChart({
    title: `${card.title}: ${t("evidence.grad_caption")}`, log: true, xIntegers: true, xLabel: t("chart.epoch"), yLabel: t("chart.grad_norm"),
    series: layers.map((layer) => ({ label: layer, points: history.map((h) => [h.epoch, h.grad_norms?.[layer]]) })),
  }));
  const dead = history.some((h) => Object.keys(h.dead_fraction ?? {}).length);
  const saturated = history.some((h) => Object.keys(h.saturated_fraction ?? {}).length);
  if (dead || saturated) {
    const key = dead ? "dead_fraction" : "saturated_fraction";
    const unitLayers = hiddenLayers(history.find((h) => Object.keys(h[key] ?? {}).length)[key]);
    $("units-chart").replaceChildren(lineChart({
      title: `${card.title}: ${t(dead ? "evidence.dead" : "evidence.saturated")}`, xLabel: t("chart.epoch"),
      yLabel: t("chart.fraction"), yMin: 0, yMax: 1, xIntegers: true,
      series: unitLayers.map((layer) => ({ label: layer, points: history.map((h) => [h.epoch, h[key]?.[layer]]) })),
    }));
    $("units-caption").textContent = t(dead ? "evidence.dead" : "evidence.saturated");
  } else {
    $("units-chart").textContent = t("evidence.none");
    $("units-caption").textContent = t("evidence.units_caption");
  }
  const last = history.at(-1).grad_norms ?? {};
  const [first, final] = [last[layers[0]], last[layers.at(-1)]];
  $("evidence-summary").textContent = layers.length > 1 && first > 0 && final > 0
    ? t("evidence.summary", { title: card.title, ratio: Number((first / final).toPrecision(2)).toLocaleString(document.documentElement.lang) })
    : "";
}

async function loadEvidence(list) {
  const cards = await Promise.all(list.models.map((m) => api.modelCard(m.id)));
  showCurves(cards);
  const select = $("evidence-select");
  const byId = Object.fromEntries(cards.map((c) => [c.id, c]));
  select.replaceChildren(...cards.map((c) => new Option(c.title, c.id)));
  select.value = byId.sigmoid ? "sigmoid" : cards[0].id;
  select.addEventListener("change", () => showModelEvidence(byId[select.value]));
  showModelEvidence(byId[select.value]);
}

// 3 and 4. Softmax and hidden activations of the person's drawing (POST /predict with explain: true).
const pad = new Pad($("pad"));
bindKeys(pad);
const modelSelect = $("model-select");
let model = "";

function softmax(logits) {
  const top = Math.max(...logits);
  const exps = logits.map((z) => Math.exp(z - top));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

function showSoftmax(result) {
  const { logits } = result.explain;
  const mine = softmax(logits);
  const top = mine.indexOf(Math.max(...mine));
  $("prediction").textContent = String(result.digit);
  $("logit-chart").replaceChildren(barChart({
    title: t("softmax.chart_label"), signed: true, labelWidth: 30,
    items: logits.map((z, digit) => ({ label: String(digit), value: z, valueText: number(z, 2) })),
  }));
  $("softmax-body").replaceChildren(...logits.map((z, digit) => {
    const row = document.createElement("tr");
    row.classList.toggle("is-top", digit === top);
    row.dataset.digit = String(digit);
    row.dataset.softmax = String(mine[digit]);
    row.dataset.server = String(result.probabilities[digit]);
    for (const text of [String(digit), number(z, 3), Math.exp(z).toPrecision(3), percent(mine[digit], 2), percent(result.probabilities[digit], 2)]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }));
  $("status").textContent = t("result.answer", { digit: result.digit, percent: percent(result.probabilities[result.digit]) });
  $("status").classList.remove("is-error");
}

function showHidden(result) {
  const figures = result.explain.layers.map((layer) => {
    const figure = document.createElement("figure");
    figure.dataset.layer = layer.name;
    const chart = document.createElement("div");
    chart.className = "chart";
    const flat = layer.values.flat(3);
    const max = Math.max(...flat.map(Math.abs), 1e-9);
    let summary;
    if (layer.shape.length === 1) {
      summary = t("hidden.layer_summary", {
        layer: layer.name, active: flat.filter((v) => v > 0).length, total: flat.length, max: number(Math.max(...flat), 2),
      });
      chart.append(heatmap({ title: summary, values: flat, cols: 16, cell: 14, maxAbs: max }));
    } else {
      const [channels, side] = layer.shape;
      const perRow = 4;
      const cols = perRow * (side + 1) - 1;
      const rows = Math.ceil(channels / perRow) * (side + 1) - 1;
      const mosaic = new Array(cols * rows).fill(NaN);
      layer.values.forEach((map, c) => map.forEach((line, y) => line.forEach((v, x) => {
        mosaic[(Math.floor(c / perRow) * (side + 1) + y) * cols + (c % perRow) * (side + 1) + x] = v;
      })));
      summary = t("hidden.map_summary", { layer: layer.name, channels, max: number(max, 2) });
      chart.append(heatmap({ title: summary, values: mosaic, cols, cell: 7, maxAbs: max }));
    }
    const caption = document.createElement("figcaption");
    caption.textContent = summary;
    figure.append(chart, caption);
    return figure;
  });
  $("hidden-layers").replaceChildren(...figures);
}

function showBlank() {
  $("prediction").textContent = "";
  $("logit-chart").replaceChildren();
  $("softmax-body").replaceChildren();
  const hint = document.createElement("p");
  hint.className = "hint";
  hint.textContent = t("hidden.empty");
  $("hidden-layers").replaceChildren(hint);
  $("status").textContent = t("result.invite");
  $("status").classList.remove("is-error");
}

let lastSent = "";
const live = new LatestOnly({
  snapshot: () => {
    const key = `${pad.version}|${model}`;
    if (pad.isBlank || key === lastSent) return null;
    lastSent = key;
    return { image: pad.toDataURL(), model };
  },
  send: (job) => api.predict(job.image, job.model, true),
  onResult: (result) => {
    if (pad.isBlank) return;
    showSoftmax(result);
    showHidden(result);
  },
  onError: (error) => {
    lastSent = "";
    if (pad.isBlank) return;
    $("status").textContent = error instanceof api.ApiError ? t("result.error", { detail: error.message }) : t("result.offline");
    $("status").classList.add("is-error");
  },
});

pad.addEventListener("change", (event) => {
  document.querySelector(".pad-invite")?.classList.toggle("is-hidden", !pad.isBlank);
  if (event.detail.ended) {
    saveStrokes(pad);
    $("undo").disabled = pad.isBlank;
    $("clear").disabled = pad.isBlank;
  }
  if (pad.isBlank) {
    live.cancel();
    lastSent = "";
    showBlank();
  } else {
    live.request();
  }
});
$("undo").addEventListener("click", () => pad.undo());
$("clear").addEventListener("click", () => pad.clear());
$("sample").addEventListener("click", () => {
  const { digit, strokes } = nextSample();
  $("pad").dataset.sample = String(digit);
  pad.setStrokes(strokes);
});
modelSelect.addEventListener("change", () => {
  model = modelSelect.value;
  try { localStorage.setItem(MODEL_KEY, model); } catch { /* storage off */ }
  if (!pad.isBlank) live.request();
});

plotActivations();
const restored = loadStrokes();
if (restored.length) pad.setStrokes(restored);
try {
  const list = await api.listModels();
  let saved = null;
  try { saved = localStorage.getItem(MODEL_KEY); } catch { /* storage off */ }
  model = list.models.some((m) => m.id === saved) ? saved : list.default;
  modelSelect.replaceChildren(...list.models.map((m) => new Option(
    t("model.option", { title: m.title, accuracy: percent(m.test_accuracy) }), m.id, false, m.id === model,
  )));
  modelSelect.value = model;
  showAccuracy(list);
  if (!pad.isBlank) live.request();
  await loadEvidence(list);
} catch (error) {
  $("status").textContent = error instanceof api.ApiError ? t("result.error", { detail: error.message }) : t("result.offline");
  $("status").classList.add("is-error");
}
document.body.dataset.ready = "true";
