// The lesson: why a network needs activation functions, told with this server's models, their training
// records, a toy trained in the page and the person's own drawing (carried over from the main page in
// sessionStorage, or drawn on the small pad). Every number in it is read from a card or computed here.
import { ACTIVATIONS, LEAKY_SLOPE, NAMES } from "./activations.js";
import * as api from "./api.js";
import { barChart, heatmap, lineChart } from "./charts.js";
import { layerName, modelTitle, number, percent, ready, setupLanguageLinks, sortModels, t } from "./i18n.js";
import { LatestOnly } from "./latest.js";
import { bindKeys, loadStrokes, Pad, saveStrokes } from "./pad.js";
import { nextSample } from "./samples.js";
import { drawToy, makePoints, ToyNet, train } from "./toy.js";
import { verdictText } from "./verdict.js";

const $ = (id) => document.getElementById(id);
const MODEL_KEY = "digit-lab.model";
const DEPTH = 5; // hidden layers of every MLP on this server: the slopes multiplied in the slider's last column
setupLanguageLinks();
await ready;

/** Charts are drawn at their box's width, so their 12 px text stays 12 px on a phone instead of shrinking. */
const widthOf = (element, fallback = 480) => Math.max(240, Math.floor(element.clientWidth || fallback));
const actName = (name) => t(`act.name.${name}`);
const actCaption = (name) => t(`act.${name}`, { slope: number(LEAKY_SLOPE, 3) });

// 1. A neuron: y = Σ wᵢxᵢ + b with numbers, the bias on a slider.
const NEURON = { x: [1, 0, 0.5], w: [0.8, -0.4, 1.2] };
function showNeuron() {
  const b = Number($("neuron-bias").value);
  const products = NEURON.x.map((x, i) => x * NEURON.w[i]);
  const y = products.reduce((s, v) => s + v, 0) + b;
  $("neuron-bias-value").textContent = number(b, 1);
  $("neuron-sum").textContent = `y = ${NEURON.w.map((w, i) => `${number(w, 1)}×${number(NEURON.x[i], 1)}`).join(" + ")} + ${number(b, 1)} = ${number(y, 2)}`;
  $("neuron-sum").dataset.y = String(y);
}
$("neuron-bias").addEventListener("input", showNeuron);
showNeuron();

// 2. Every activation and its slope at x, with the slope multiplied through five layers; and their plots.
const xSlider = $("x-slider");
function showSlopes() {
  const x = Number(xSlider.value);
  $("x-value").textContent = number(x, 1);
  $("slope-body").replaceChildren(...NAMES.map((name) => {
    const { f, df } = ACTIVATIONS[name];
    const row = document.createElement("tr");
    row.dataset.activation = name;
    row.dataset.slope = String(df(x));
    const five = df(x) ** DEPTH;
    row.dataset.five = String(five);
    const fiveText = five !== 0 && Math.abs(five) < 0.01 ? t("act.one_in", { n: number(1 / Math.abs(five), 0) }) : number(five, 3);
    for (const [text, header] of [[actName(name), true], [number(f(x), 3)], [number(df(x), 3)], [fiveText]]) {
      const cell = document.createElement(header ? "th" : "td");
      if (header) cell.scope = "row";
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }));
  plotActivations(x);
}

const PLOT_MIN_WIDTH = 260;
const PLOT_GAP = 13; // .plot-grid's gap (0.8rem)
function plotActivations(at) {
  const xs = Array.from({ length: 161 }, (_, i) => -5 + i / 16);
  const gridWidth = widthOf($("activation-plots"), 300);
  const columns = Math.max(1, Math.floor((gridWidth + PLOT_GAP) / (PLOT_MIN_WIDTH + PLOT_GAP)));
  const width = Math.floor((gridWidth - (columns - 1) * PLOT_GAP) / columns);
  const figures = NAMES.map((name) => {
    const { f, df } = ACTIVATIONS[name];
    const figure = document.createElement("figure");
    figure.dataset.activation = name;
    const chart = document.createElement("div");
    chart.className = "chart";
    const values = xs.flatMap((x) => [f(x), df(x)]);
    // Each plot's own y range, from its values: ReLU rises to 5 in its plot instead of being cut at 2.
    chart.append(lineChart({
      title: actName(name),
      series: [
        { label: t("act.function"), points: xs.map((x) => [x, f(x)]), className: "s0 d0" },
        { label: t("act.derivative"), points: xs.map((x) => [x, df(x)]), className: "s1 derivative" },
      ],
      markers: [{ x: at, y: f(at), className: "marker0" }, { x: at, y: df(at), className: "marker1" }],
      xLabel: "x", yMin: Math.min(-0.5, ...values), yMax: Math.max(1.2, ...values),
      width, height: Math.round(width * 0.7), endLabels: false, zeroLine: true, description: `${actCaption(name)}. ${t("act.legend")}`,
    }));
    const caption = document.createElement("figcaption");
    caption.textContent = actCaption(name);
    figure.append(chart, caption);
    return figure;
  });
  $("activation-plots").replaceChildren(...figures);
}
xSlider.addEventListener("input", showSlopes);
showSlopes();

// 3. The toy: switch the activation and train again; the boundary is straight only without one.
const toyCanvas = $("toy-canvas");
const toyPoints = makePoints();
let toyRun = 0;
async function runToy() {
  const activation = document.querySelector("input[name=toy-activation]:checked").value;
  const run = (toyRun += 1);
  const net = new ToyNet(activation, run);
  toyCanvas.dataset.activation = activation;
  toyCanvas.dataset.trained = "false";
  const side = Math.round(Math.min(320, widthOf(toyCanvas.parentElement, 320)) * (window.devicePixelRatio || 1));
  toyCanvas.width = toyCanvas.height = side;
  const accuracy = await train(net, toyPoints, (done, total) => {
    if (run !== toyRun) return;
    drawToy(toyCanvas, net, toyPoints);
    $("toy-status").textContent = t("toy.training", { done, total, name: actName(activation) });
  });
  if (run !== toyRun) return; // another activation was chosen meanwhile
  toyCanvas.dataset.accuracy = String(accuracy);
  toyCanvas.dataset.trained = "true";
  const text = t(activation === "linear" ? "toy.result_linear" : "toy.result", { name: actName(activation), accuracy: percent(accuracy, 0) });
  $("toy-status").textContent = text;
  toyCanvas.setAttribute("aria-label", text);
}
for (const radio of document.querySelectorAll("input[name=toy-activation]")) radio.addEventListener("change", runToy);
$("toy-retrain").addEventListener("click", runToy);
runToy();

// 4. Softmax: the tutorial's own example, then the person's drawing.
function softmax(logits) {
  const top = Math.max(...logits);
  const exps = logits.map((z) => Math.exp(z - top));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}
const EXAMPLE = [1, 3, 5, 7, 9];
function showSoftmaxExample() {
  const probabilities = softmax(EXAMPLE);
  $("softmax-example-body").replaceChildren(...EXAMPLE.map((z, i) => {
    const row = document.createElement("tr");
    row.dataset.softmax = String(probabilities[i]);
    for (const text of [String(z), number(Math.exp(z), 1), percent(probabilities[i], 2)]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }));
  $("softmax-example-exp-sum").textContent = number(EXAMPLE.reduce((s, z) => s + Math.exp(z), 0), 1);
  const total = probabilities.reduce((a, b) => a + b, 0);
  $("softmax-example-sum").textContent = percent(total, 2);
  $("softmax-example-sum").dataset.sum = String(total);
}
showSoftmaxExample();

// 1 and 6: the models' accuracy (SGD and the Adam contrast run), the curves and each model's training record.
const titles = {};
function showAccuracy(models, adamCards) {
  const adamOf = Object.fromEntries(adamCards.map((c) => [c.activation, c]));
  const items = models.flatMap((m) => {
    const rows = [{ label: `${titles[m.id]}`, value: m.test_accuracy, valueText: percent(m.test_accuracy),
      className: m.id === "linear" ? "is-highlight" : undefined }];
    const adam = m.kind === "mlp" ? adamOf[m.activation] : null;
    if (adam) rows.push({ label: t("chart.with_adam"), value: adam.test_accuracy, valueText: percent(adam.test_accuracy), className: "is-adam" });
    return rows;
  });
  const chart = $("accuracy-chart");
  chart.replaceChildren(barChart({ title: t("chart.accuracy_label"), items, max: 1, labelWidth: Math.min(260, widthOf(chart) * 0.45), width: widthOf(chart) }));
  const linear = models.find((m) => m.id === "linear");
  const mlps = models.filter((m) => m.id !== "linear" && m.kind === "mlp");
  const best = [...(mlps.length ? mlps : models.filter((m) => m.id !== "linear"))].sort((a, b) => b.test_accuracy - a.test_accuracy)[0];
  $("accuracy-caption").textContent = linear && best
    ? t("neuron.summary", { linear: percent(linear.test_accuracy), best: percent(best.test_accuracy), bestTitle: titles[best.id] })
    : t("neuron.no_linear");
  // Sigmoid below no activation at all is this recipe's doing (plain SGD through five layers), not sigmoid's.
  const sigmoid = models.find((m) => m.id === "sigmoid");
  const sigmoidAdam = adamOf.sigmoid;
  $("recipe-note").textContent = sigmoid && sigmoidAdam
    ? t("neuron.recipe_note", { sgd: percent(sigmoid.test_accuracy), adam: percent(sigmoidAdam.test_accuracy),
      linearAdam: adamOf.linear ? percent(adamOf.linear.test_accuracy) : "—" })
    : "";
}

const hiddenLayers = (record) => Object.keys(record).sort((a, b) => parseInt(a.split("_")[1], 10) - parseInt(b.split("_")[1], 10));
const errorOf = (h) => 1 - h.val_accuracy;

function showCurves(cards) {
  // The validation error on a log scale: 0.5% and 1% are as far apart as 50% and 100%, so the six curves
  // that end between 97% and 99.6% do not crowd into one band at the top.
  const series = cards.map((card) => ({
    label: modelTitleShort(card),
    points: card.history.filter((h) => h.epoch >= 1 && h.val_accuracy != null).map((h) => [h.epoch, errorOf(h)]),
  }));
  const chart = $("curve-chart");
  chart.replaceChildren(lineChart({
    title: t("evidence.curves_caption"), series, xLabel: t("chart.epoch"), yLabel: t("chart.error_log"), log: true,
    width: widthOf(chart, 720), height: 320, xIntegers: true, yFormat: (v) => percent(v, v < 0.01 ? 1 : 0),
  }));
}
const modelTitleShort = (card) => (card.kind === "cnn" ? "CNN" : actName(card.activation));

function showModelEvidence(card) {
  const history = card.history ?? [];
  if (!history.length) {
    $("grad-chart").textContent = t("evidence.no_history");
    for (const id of ["layer-grad-chart", "units-chart", "evidence-summary"]) $(id).textContent = "";
    return;
  }
  const layers = hiddenLayers(history[0].grad_norms ?? {});
  const gradChart = $("grad-chart");
  gradChart.replaceChildren(lineChart({
    title: `${titles[card.id] ?? card.id}: ${t("evidence.grad_caption")}`, log: true, xIntegers: true,
    xLabel: t("chart.epoch"), yLabel: t("chart.grad_norm"), width: widthOf(gradChart), endLabels: true,
    series: layers.map((layer) => ({ label: layerName(layer), points: history.map((h) => [h.epoch, h.grad_norms?.[layer]]) })),
  }));
  // The gradient per layer at the start (where it vanishes most), after the first epoch and at the end.
  const moments = [history[0], history[1], history.at(-1)].filter(Boolean)
    .filter((h, i, all) => all.findIndex((o) => o.epoch === h.epoch) === i);
  const layerChart = $("layer-grad-chart");
  layerChart.replaceChildren(lineChart({
    title: `${titles[card.id] ?? card.id}: ${t("evidence.layer_grad_caption")}`, log: true, xIntegers: true,
    xLabel: t("chart.layer"), yLabel: t("chart.grad_norm"), width: widthOf(layerChart),
    series: moments.map((h) => ({
      label: h.epoch === 0 ? t("chart.before_training") : t("chart.after_epoch", { epoch: h.epoch }),
      points: layers.map((layer, i) => [i + 1, h.grad_norms?.[layer]]),
    })),
  }));
  const ratioAt = (h) => {
    const [first, last] = [h.grad_norms?.[layers[0]], h.grad_norms?.[layers.at(-1)]];
    return first > 0 && last > 0 ? first / last : null;
  };
  const ratioText = (r) => (r < 0.1 ? t("evidence.one_in", { n: number(1 / r, 0) }) : t("evidence.times", { n: number(r, 2) }));
  const [start, end] = [ratioAt(history[0]), ratioAt(history.at(-1))];
  const summary = $("evidence-summary");
  summary.textContent = layers.length > 1 && start && end
    ? t("evidence.summary", { title: titles[card.id] ?? card.id, start: ratioText(start), end: ratioText(end), epochs: history.at(-1).epoch })
    : "";
  summary.dataset.startRatio = start ? String(start) : "";
  showUnits(card, history);
}

function showUnits(card, history) {
  const dead = history.some((h) => Object.keys(h.dead_fraction ?? {}).length);
  const saturated = history.some((h) => Object.keys(h.saturated_fraction ?? {}).length);
  const chart = $("units-chart");
  const caption = $("units-caption");
  if (!dead && !saturated) {
    chart.textContent = t("evidence.none");
    caption.textContent = t("evidence.units_caption");
    return;
  }
  const key = dead ? "dead_fraction" : "saturated_fraction";
  const unitLayers = hiddenLayers(history.find((h) => Object.keys(h[key] ?? {}).length)[key]);
  const peak = Math.max(...history.flatMap((h) => Object.values(h[key] ?? {})));
  chart.replaceChildren(lineChart({
    title: `${titles[card.id] ?? card.id}: ${t(dead ? "evidence.dead" : "evidence.saturated")}`, xLabel: t("chart.epoch"),
    yLabel: t("chart.fraction"), yMin: 0, yMax: Math.max(0.05, peak * 1.15), xIntegers: true, width: widthOf(chart, 720),
    yFormat: (v) => percent(v, 0),
    series: unitLayers.map((layer) => ({ label: layerName(layer), points: history.map((h) => [h.epoch, h[key]?.[layer]]) })),
  }));
  const vars = { title: titles[card.id] ?? card.id, peak: percent(peak, 1) };
  caption.textContent = card.activation === "sigmoid" ? t("evidence.sigmoid_units", vars)
    : t(dead ? "evidence.dead_caption" : "evidence.saturated_caption", vars);
}

async function loadEvidence(models) {
  const cards = sortModels(await Promise.all(models.map((m) => api.modelCard(m.id))));
  showCurves(cards);
  const select = $("evidence-select");
  const byId = Object.fromEntries(cards.map((c) => [c.id, c]));
  select.replaceChildren(...cards.map((c) => new Option(titles[c.id] ?? c.title, c.id)));
  select.value = byId.sigmoid ? "sigmoid" : cards[0].id;
  select.addEventListener("change", () => showModelEvidence(byId[select.value]));
  showModelEvidence(byId[select.value]);
}

// 6b. Dying ReLU, from a run where it happens (models/dying: plain SGD with a learning rate ten times the
// recipe's): per run, the hidden layer that lost the most units.
function showDying(cards) {
  const relu = cards.find((c) => c.activation === "relu");
  const leaky = cards.find((c) => c.activation === "leaky-relu");
  if (!relu) {
    $("dying-summary").textContent = t("dying.missing");
    return;
  }
  const runs = [relu, leaky].filter(Boolean);
  const worst = (card) => {
    const last = card.history.at(-1).dead_fraction ?? {};
    return hiddenLayers(last).reduce((a, b) => (last[b] > last[a] ? b : a));
  };
  const deadChart = $("dying-chart");
  deadChart.replaceChildren(lineChart({
    title: t("dying.chart_caption"), xLabel: t("chart.epoch"), yLabel: t("chart.fraction"), yMin: 0,
    xIntegers: true, width: widthOf(deadChart), yFormat: (v) => percent(v, 0),
    series: runs.map((card) => ({
      label: `${actName(card.activation)} · ${layerName(worst(card))}`,
      points: card.history.map((h) => [h.epoch, h.dead_fraction?.[worst(card)]]),
    })),
  }));
  const accuracyChart = $("dying-accuracy-chart");
  accuracyChart.replaceChildren(lineChart({
    title: t("dying.accuracy_caption"), xLabel: t("chart.epoch"), yLabel: t("chart.accuracy"),
    xIntegers: true, width: widthOf(accuracyChart), yFormat: (v) => percent(v, 0),
    series: runs.map((card) => ({ label: actName(card.activation), points: card.history.filter((h) => h.val_accuracy != null).map((h) => [h.epoch, h.val_accuracy]) })),
  }));
  const at = (card) => card.history.at(-1).dead_fraction[worst(card)];
  const firstDead = relu.history.find((h) => h.epoch > 0 && (h.dead_fraction?.[worst(relu)] ?? 0) >= at(relu) * 0.8);
  $("dying-summary").textContent = t(leaky ? "dying.summary" : "dying.summary_relu_only", {
    rate: number(relu.learning_rate, 3), epochs: relu.history.at(-1).epoch, firstEpoch: firstDead?.epoch ?? 1,
    firstDead: percent(firstDead?.dead_fraction?.[worst(relu)] ?? at(relu), 1),
    layer: layerName(worst(relu)), dead: percent(at(relu), 1),
    leakyLayer: leaky ? layerName(worst(leaky)) : "", leakyDead: leaky ? percent(at(leaky), 1) : "",
    reluAccuracy: percent(relu.test_accuracy, 1), leakyAccuracy: leaky ? percent(leaky.test_accuracy, 1) : "",
  });
  $("dying-summary").dataset.reluAccuracy = String(relu.test_accuracy);
}

// 4 and 5. Softmax and hidden activations of the person's drawing (POST /predict with explain: true).
const pad = new Pad($("pad"));
bindKeys(pad);
const modelSelect = $("model-select");
let model = "";
const activationOf = {};

function showSoftmax(result) {
  const { logits } = result.explain;
  const mine = softmax(logits);
  const top = mine.indexOf(Math.max(...mine));
  $("prediction").textContent = String(result.digit);
  const chart = $("logit-chart");
  chart.replaceChildren(barChart({
    title: t("softmax.chart_label"), signed: true, labelWidth: 30, width: widthOf(chart),
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
  $("softmax-sum").textContent = percent(mine.reduce((a, b) => a + b, 0), 2);
  // Softmax sums to 1 whatever it is shown, a scribble too: the verdict is what says whether to trust the top.
  $("softmax-verdict").textContent = `${t("softmax.verdict_note")} ${verdictText(result) || t("verdict.digit")}`;
  $("softmax-verdict").dataset.verdict = result.verdict;
  $("status").textContent = t("result.answer", { reads: t(`digit.read_${result.digit}`), percent: percent(result.probabilities[result.digit]) });
  $("status").classList.remove("is-error");
}

/** What a hidden layer's numbers say depends on its activation: how many ReLU units are silent, how many
 * sigmoid or tanh units sit where their slope is nearly flat; "above zero" says nothing for a sigmoid. */
function layerSummary(name, flat, activation) {
  const vars = { layer: layerName(name), total: flat.length, max: number(Math.max(...flat), 2), min: number(Math.min(...flat), 2) };
  if (activation === "sigmoid" || activation === "tanh") {
    const slope = activation === "sigmoid" ? (a) => (a * (1 - a)) / 0.25 : (a) => 1 - a * a;
    return t("hidden.layer_saturating", { ...vars, flat: flat.filter((a) => slope(a) < 0.1).length });
  }
  if (activation === "linear") return t("hidden.layer_linear", vars);
  return t("hidden.layer_summary", { ...vars, active: flat.filter((v) => v > 0).length });
}

function showHidden(result, job) {
  const activation = activationOf[job.model] ?? "";
  const figures = result.explain.layers.map((layer) => {
    const figure = document.createElement("figure");
    figure.dataset.layer = layer.name;
    const chart = document.createElement("div");
    chart.className = "chart";
    const flat = layer.values.flat(3);
    const max = Math.max(...flat.map(Math.abs), 1e-9);
    let summary;
    if (layer.shape.length === 1) {
      summary = layerSummary(layer.name, flat, activation);
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
      summary = t("hidden.map_summary", { layer: layerName(layer.name), channels, max: number(max, 2) });
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
  $("softmax-sum").textContent = "";
  $("softmax-verdict").textContent = "";
  const hint = document.createElement("p");
  hint.className = "hint";
  hint.textContent = t("hidden.empty");
  $("hidden-layers").replaceChildren(hint);
  $("status").textContent = t("result.invite");
  $("status").classList.remove("is-error");
}

let lastSent = "";
const live = new LatestOnly({
  interval: 150, // each answer redraws a dozen charts: fewer, larger steps while the pen moves
  snapshot: () => {
    const key = `${pad.version}|${model}`;
    if (pad.isBlank || key === lastSent) return null;
    lastSent = key;
    return { image: pad.toDataURL(), model };
  },
  send: (job) => api.predict(job.image, job.model, true),
  onResult: (result, job) => {
    if (pad.isBlank) return;
    showSoftmax(result);
    showHidden(result, job);
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
  } else if (modelSelect.dataset.loaded) {
    live.request({ now: event.detail.ended });
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
  if (!pad.isBlank) live.request({ now: true });
});

const restored = loadStrokes();
if (restored.length) pad.setStrokes(restored);
try {
  const [list, runs] = await Promise.all([api.listModels(), api.lessonRuns()]);
  const models = sortModels(list.models);
  for (const m of models) {
    titles[m.id] = modelTitle(m);
    activationOf[m.id] = m.kind === "cnn" ? "relu" : m.activation;
  }
  let saved = null;
  try { saved = localStorage.getItem(MODEL_KEY); } catch { /* storage off */ }
  model = models.some((m) => m.id === saved) ? saved : list.default;
  modelSelect.replaceChildren(...models.map((m) => new Option(
    t("model.option", { title: titles[m.id], accuracy: percent(m.test_accuracy) }), m.id, false, m.id === model,
  )));
  modelSelect.value = model;
  modelSelect.dataset.loaded = "true";
  showAccuracy(models, runs.adam ?? []);
  showDying(runs.dying ?? []);
  if (!pad.isBlank) live.request({ now: true });
  await loadEvidence(models);
} catch (error) {
  $("status").textContent = error instanceof api.ApiError ? t("result.error", { detail: error.message }) : t("result.offline");
  $("status").classList.add("is-error");
}
document.body.dataset.ready = "true";
