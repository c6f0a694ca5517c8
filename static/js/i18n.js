// The page's strings: the same catalogue the server rendered the HTML from (GET /i18n/{lang}.json).
export const lang = document.documentElement.lang || "en";
const STORAGE_KEY = "digit-lab.lang";
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

/** The language picker reloads the same page with ?lang=, which the server remembers in a cookie. */
export function setupLanguageSelect(select) {
  if (!select) return;
  select.addEventListener("change", () => {
    try { localStorage.setItem(STORAGE_KEY, select.value); } catch { /* private mode: the cookie still works */ }
    const url = new URL(window.location.href);
    url.searchParams.set("lang", select.value);
    window.location.assign(url.toString());
  });
}
