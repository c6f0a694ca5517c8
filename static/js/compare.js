// The compare view: every model's answer for the same drawing, side by side.
import { miniBars } from "./bars.js";
import { percent, t } from "./i18n.js";

/** One card per model, in `order` (the lesson's order of the models; unknown ones last). */
export function renderCompare(container, answers, titles, selected, order = []) {
  if (!answers) {
    const empty = document.createElement("p");
    empty.className = "hint";
    empty.textContent = t("compare.empty");
    container.replaceChildren(empty);
    return;
  }
  const rank = (answer) => (order.includes(answer.model) ? order.indexOf(answer.model) : order.length);
  const sorted = [...answers].sort((a, b) => rank(a) - rank(b));
  const cards = sorted.map((answer) => {
    const title = titles[answer.model] ?? answer.model;
    const card = document.createElement("article");
    card.className = "compare-card";
    card.classList.toggle("is-selected", answer.model === selected);
    card.setAttribute("data-testid", `compare-${answer.model}`);
    card.dataset.digit = String(answer.digit);
    const heading = document.createElement("h3");
    heading.textContent = title;
    const digit = document.createElement("p");
    digit.className = "compare-digit";
    digit.textContent = String(answer.digit);
    digit.setAttribute("aria-label", t("compare.card_label", { title, digit: answer.digit }));
    const sure = document.createElement("span");
    sure.className = "visually-hidden";
    sure.textContent = ` (${percent(answer.probabilities[answer.digit])})`;
    digit.append(sure);
    card.append(heading, digit, miniBars(answer.probabilities));
    return card;
  });
  container.replaceChildren(...cards);
}
