"""How well the verdict separates digits from non-digits, on kinds training never saw.

Real digits: MNIST's test set and the held-out pen writers. Non-digits: the evaluation-only kinds of
app/training/outliers.py (letters and symbols drawn as pen strokes, animal silhouettes), each through the serving
preprocessing and the same `decide` the API uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.modeling.card import VerdictThresholds
from app.training.outliers import animals, pen_symbols
from app.verdict import decide

NON_DIGITS_PER_KIND = 2000
SEED = 99  # a fixed draw of pen symbols, apart from any seed training uses


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Area under the ROC curve: the chance a random digit scores above a random non-digit (ties count half)."""
    scores = np.concatenate([positive, negative])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # average ranks of ties
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def fpr_at_tpr(positive: np.ndarray, negative: np.ndarray, tpr: float = 0.95) -> float:
    """Share of non-digits scoring at or above the score that keeps `tpr` of the digits."""
    cut = np.quantile(positive, 1 - tpr)
    return float(np.mean(negative >= cut))


@dataclass(frozen=True)
class Verdicts:
    verdicts: list[str]
    correct: np.ndarray  # argmax == label (digits only)
    scores: np.ndarray  # top probability, 0 where the ink's shape already says "not a digit"


def judge(images: np.ndarray, probabilities: np.ndarray, thresholds: VerdictThresholds | None,
          labels: np.ndarray | None = None) -> Verdicts:
    decisions = [decide(image, p, thresholds) for image, p in zip(images, probabilities, strict=True)]
    scores = np.array([0.0 if d.reason not in ("confident", "low-confidence") else float(p.max())
                       for d, p in zip(decisions, probabilities, strict=True)])
    correct = probabilities.argmax(axis=1) == labels if labels is not None else np.zeros(len(images), bool)
    return Verdicts([d.verdict for d in decisions], correct, scores)


def non_digit_sets(limit: int = NON_DIGITS_PER_KIND) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(SEED)
    return {"pen letters and symbols": np.asarray([pen_symbols(rng) for _ in range(limit)], dtype=np.float32),
            "animal silhouettes": animals(limit)}


def report(predict: Callable[[np.ndarray], np.ndarray], thresholds: VerdictThresholds | None,
           digits: dict[str, tuple[np.ndarray, np.ndarray]], non_digits: dict[str, np.ndarray]) -> str:
    """The verdict's figures: digits `{name: (images (n,28,28), labels)}` and non-digit kinds `{name: images}`."""
    lines = []
    positives = []
    for name, (images, labels) in digits.items():
        v = judge(images, predict(images[..., None]), thresholds, labels)
        verdicts = np.array(v.verdicts)
        right_digit = np.mean((verdicts == "digit") & v.correct)
        lines.append(f"{name} ({len(images):,}): \"digit\" with the right label {right_digit:.2%}, unsure "
                     f"{np.mean(verdicts == 'unsure'):.2%}, not-a-digit {np.mean(verdicts == 'not-a-digit'):.2%}, "
                     f"accuracy {v.correct.mean():.2%}")
        positives.append(v.scores)
    positive = np.concatenate(positives)
    negatives = []
    for name, images in non_digits.items():
        v = judge(images, predict(images[..., None]), thresholds)
        verdicts = np.array(v.verdicts)
        lines.append(f"{name} ({len(images):,}): answered other than \"digit\" {np.mean(verdicts != 'digit'):.2%} "
                     f"(not-a-digit {np.mean(verdicts == 'not-a-digit'):.2%}), AUROC {auroc(positive, v.scores):.4f}, "
                     f"FPR at 95% TPR {fpr_at_tpr(positive, v.scores):.2%}")
        negatives.append(v.scores)
    negative = np.concatenate(negatives)
    lines.append(f"all held-out non-digit kinds: AUROC {auroc(positive, negative):.4f}, FPR at 95% TPR "
                 f"{fpr_at_tpr(positive, negative):.2%} "
                 "(score: calibrated top probability, 0 when the shape rules fire)")
    return "\n".join(lines)
