// The ten probability bars: value as width and as text, the top one marked in words and by pattern,
// each a role="meter" with aria-valuenow/valuetext so a screen reader reads "Digit 7, 93.1%, most likely".
import { percent, t } from "./i18n.js";

export function topIndex(probabilities) {
  let best = 0;
  probabilities.forEach((p, i) => { if (p > probabilities[best]) best = i; });
  return best;
}

/** Show `probabilities` (ten numbers summing to 1), or reset to the neutral state with null. */
export function renderBars(container, probabilities) {
  const top = probabilities ? topIndex(probabilities) : -1;
  container.querySelectorAll(".bar").forEach((bar, digit) => {
    const p = probabilities ? probabilities[digit] : 0;
    const text = probabilities ? percent(p) : "—";
    bar.dataset.value = String(p);
    bar.setAttribute("aria-valuenow", (p * 100).toFixed(1));
    bar.setAttribute("aria-valuetext", digit === top ? t("bars.value_top", { percent: text }) : text);
    bar.classList.toggle("is-top", digit === top);
    // The share as a custom property: a width in the list of bars, a height in the phone's row of ten.
    bar.querySelector(".bar-fill").style.setProperty("--p", p.toFixed(4));
    const value = bar.querySelector(".bar-value");
    value.textContent = text;
    value.dataset.short = probabilities ? percent(p, 0) : "—";
  });
}

/** A compact text-first list of bars, for the compare view. */
export function miniBars(probabilities) {
  const list = document.createElement("ol");
  list.className = "mini-bars";
  list.start = 0;
  const top = topIndex(probabilities);
  probabilities.forEach((p, digit) => {
    const item = document.createElement("li");
    item.classList.toggle("is-top", digit === top);
    item.dataset.value = String(p);
    const label = document.createElement("span");
    label.textContent = String(digit);
    const track = document.createElement("span");
    track.className = "bar-track";
    track.setAttribute("aria-hidden", "true");
    const fill = document.createElement("span");
    fill.className = "bar-fill";
    fill.style.setProperty("--p", p.toFixed(4));
    track.append(fill);
    const value = document.createElement("span");
    value.textContent = percent(p, 0);
    item.append(label, track, value);
    list.append(item);
  });
  return list;
}
