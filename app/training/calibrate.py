"""Calibration and the verdict's thresholds, fitted on validation data (never the test set or held-out writers).

A softmax's top probability is not a frequency: a network trained to low loss is usually over-confident.
Temperature scaling (Guo et al., "On Calibration of Modern Neural Networks", 2017) divides the logits by one
number T fitted to minimise the negative log-likelihood on held-out data; the prediction (the argmax) does not
change. We bake T into the output layer's weights, so every runtime (Keras, LiteRT) serves calibrated
probabilities with no extra code.
"""

from __future__ import annotations

import math

import keras
import numpy as np

ECE_BINS = 15
TEMPERATURE_RANGE = (0.25, 8.0)
# Verdict thresholds on the calibrated top probability, as quantiles of validation data:
NOT_DIGIT_DIGIT_QUANTILE = 0.003  # at most this share of real digits may be called "not a digit"
UNSURE_RIGHT_QUANTILE = 0.005  # at most this share of right answers may be called "unsure"


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width confidence bins, weighted by size."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total)


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    probabilities = softmax(logits / temperature)
    return float(-np.mean(np.log(np.maximum(probabilities[np.arange(len(labels)), labels], 1e-12))))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T that minimises the NLL of softmax(logits / T): golden-section search on log T (the NLL is convex
    in 1/T, so one minimum)."""
    low, high = (math.log(t) for t in TEMPERATURE_RANGE)
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(60):
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        if negative_log_likelihood(logits, labels, math.exp(a)) < negative_log_likelihood(logits, labels, math.exp(b)):
            high = b
        else:
            low = a
    return math.exp((low + high) / 2)


def logits_of(model: keras.Model, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """The output layer's input to softmax (the layer named `logits`)."""
    head = keras.Model(model.input, model.get_layer("logits").output)
    return head.predict(images, batch_size=batch_size, verbose=0)


def bake_temperature(model: keras.Model, temperature: float) -> None:
    """Divide the logits layer's kernel and bias by T: softmax(Wx/T + b/T) = softmax((Wx + b) / T)."""
    layer = model.get_layer("logits")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel / temperature, bias / temperature])


def verdict_thresholds(digit_probabilities: np.ndarray, digit_labels: np.ndarray,
                       not_digit_level: float = NOT_DIGIT_DIGIT_QUANTILE,
                       unsure_level: float = UNSURE_RIGHT_QUANTILE) -> tuple[float, float]:
    """(not-a-digit below, unsure below) on the calibrated top probability, from validation digits: few real
    digits fall under the first; few right answers under the second. The levels are parameters only for the
    benchmarks that show what other levels would trade."""
    top = digit_probabilities.max(axis=1)
    right = digit_probabilities.argmax(axis=1) == digit_labels
    not_digit = float(np.quantile(top, not_digit_level))
    unsure = float(np.quantile(top[right], unsure_level))
    return not_digit, max(unsure, not_digit)
