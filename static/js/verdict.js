// How sure the answer is, said in words: softmax always names a most likely digit, so the page shows the
// server's verdict ("digit", "unsure", "not-a-digit") next to it, marks the alternatives' bars, and says it
// in the live region. The ten bars stay: they are the lesson.
import { t } from "./i18n.js";

/** "7 or 1" / "7, 1 or 2" in the page's language (the server lists two or three). */
function listDigits(digits) {
  const [a, b, c] = digits.map(String);
  return c === undefined ? t("verdict.list_two", { a, b }) : t("verdict.list_three", { a, b, c });
}

/** The verdict's sentence for an answer, or "" when the model is sure it is a digit. */
export function verdictText(answer) {
  if (answer.verdict === "unsure") return t("verdict.unsure", { digits: listDigits(answer.alternatives.map((a) => a.digit)) });
  if (answer.verdict === "not-a-digit") {
    return t(answer.reason === "several-shapes" ? "verdict.several" : "verdict.not_digit");
  }
  return "";
}

/** Show the verdict line and mark the bars of the alternatives (by outline and in their text, not colour). */
export function renderVerdict(line, bars, answer) {
  const text = answer ? verdictText(answer) : "";
  line.textContent = text;
  line.hidden = !text;
  line.dataset.verdict = answer?.verdict ?? "";
  const alternatives = new Set(answer?.verdict === "unsure" ? answer.alternatives.map((a) => a.digit) : []);
  bars.dataset.verdict = answer?.verdict ?? "";
  bars.querySelectorAll(".bar").forEach((bar, digit) => {
    const marked = alternatives.has(digit);
    bar.classList.toggle("is-alternative", marked);
    if (marked) bar.setAttribute("aria-valuetext", `${bar.getAttribute("aria-valuetext")}, ${t("verdict.alternative")}`);
  });
}
