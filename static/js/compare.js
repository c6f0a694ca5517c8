// The compare view: every model's answer for the same drawing, side by side.
import { miniBars } from "./bars.js";
import { percent, t } from "./i18n.js";

export function renderCompare(container, answers, titles, selected) {
  if (!answers) {
    const empty = document.createElement("p");
    empty.className = "hint";
    empty.textContent = t("compare.empty");
    container.replaceChildren(empty);
    return;
  }
  const cards = answers.map((answer) => {
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
