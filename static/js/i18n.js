// The page's strings: the same catalogue the server rendered the HTML from (GET /i18n/{lang}.json).
export const lang = document.documentElement.lang || "en";
let strings = {};

/** Resolves once the catalogue has arrived; t() falls back to the key until then. */
export const ready = fetch(`/i18n/${encodeURIComponent(lang)}.json`)
  .then((response) => (response.ok ? response.json() : {}))
  .then((catalogue) => { strings = catalogue; return catalogue; })
  .catch(() => strings);

/** The string for `key` with {name} placeholders filled from `vars`. */
export function t(key, vars = {}) {
  let text = strings[key] ?? key;
  for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

const percentFormats = new Map();
/** 0.934 → "93.4%" in the page's language. */
export function percent(value, digits = 1) {
  if (!percentFormats.has(digits)) {
    percentFormats.set(digits, new Intl.NumberFormat(lang, {
      style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits,
    }));
  }
  return percentFormats.get(digits).format(value);
}

export function number(value, digits = 2) {
  return new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(value);
}

/** "reads a 7" / "reads an 8": the article (or none) belongs to the language, so each digit has its phrase. */
export function readsDigit(digit) {
  return t(`digit.read_${digit}`);
}

/** The lesson's order (rendered from app/api/pages.py): cnn, linear, sigmoid, tanh, relu, leaky-relu, maxout. */
export const MODEL_ORDER = (document.body?.dataset.modelOrder ?? "").split(" ").filter(Boolean);
const baseId = (model) => (model.kind === "cnn" ? "cnn" : model.activation);
export function sortModels(models) {
  const rank = (model) => {
    const at = MODEL_ORDER.indexOf(baseId(model));
    return at < 0 ? MODEL_ORDER.length : at;
  };
  return [...models].sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id));
}

/** A model's title in the page's language, built from its kind, activation, optimizer and learning rate
 * (the card's own English title only when the catalogue does not know the model). */
export function modelTitle(model) {
  const key = `model.title.${baseId(model)}`;
  if (!(key in strings)) return model.title ?? model.id;
  let title = t(key);
  if (model.optimizer === "adam") title = t("model.with_adam", { title });
  const lr = /-lr([\d.e-]+)$/.exec(model.id);
  if (lr) title = t("model.with_learning_rate", { title, rate: Number(lr[1]).toLocaleString(lang) });
  return title;
}

/** hidden_3 → "Hidden layer 3", act_3 → "Activation 3" (the names the models' layers carry). */
export function layerName(name) {
  const match = /^(hidden|act|norm|pool)_(\d+)$/.exec(name);
  return match ? t(`layer.${match[1]}`, { n: match[2] }) : name;
}

/** The language links keep the fragment (a shared drawing) when they reload the page in another language. */
export function setupLanguageLinks() {
  for (const link of document.querySelectorAll(".lang-switch a[hreflang]")) {
    link.addEventListener("click", () => {
      if (window.location.hash) link.hash = window.location.hash;
    });
  }
}
