"""Measurements that make the activation lesson visible, recorded once per epoch.

- Gradient norm per hidden layer: vanishing gradients show as a small first/last ratio.
- Dead units (ReLU family): units whose output is never positive for every example of a validation batch.
- Saturation (sigmoid, tanh): activations where the derivative is under SATURATION_LEVEL of its peak.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from app.modeling.family import hidden_layer_names

SATURATION_LEVEL = 0.1  # derivative below 10% of its maximum counts as saturated
DEAD_FAMILY = {"relu", "leaky-relu"}
SATURATING = {"sigmoid", "tanh"}


def dead_fraction(activations: np.ndarray) -> float:
    """Share of units (last axis; spatial axes pooled) that are never positive on the batch."""
    per_unit = activations.reshape(-1, activations.shape[-1])
    return float(np.mean(~(per_unit > 0).any(axis=0)))


def saturated_fraction(activations: np.ndarray, activation: str) -> float:
    """Share of activations where the derivative is below SATURATION_LEVEL of its peak."""
    if activation == "sigmoid":
        derivative = activations * (1 - activations) / 0.25
    elif activation == "tanh":
        derivative = 1 - activations**2
    else:
        raise ValueError(f"saturation is defined for sigmoid and tanh, not {activation!r}")
    return float(np.mean(derivative < SATURATION_LEVEL))


def gradient_norms(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """L2 norm of d(loss)/d(kernel) for each hidden layer, on one batch, in inference mode."""
    names = hidden_layer_names(model)
    kernels = [model.get_layer(name).kernel for name in names]
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    with tf.GradientTape() as tape:
        loss = loss_fn(labels, model(images, training=False))
    grads = tape.gradient(loss, kernels)
    return {name: float(tf.norm(g)) for name, g in zip(names, grads, strict=True)}


class ActivationProbe(keras.callbacks.Callback):
    """Records gradient norms, dead units and saturation before training and after every epoch."""

    def __init__(self, activation: str, train_batch: tuple[np.ndarray, np.ndarray], val_images: np.ndarray):
        super().__init__()
        self.activation = activation
        self.train_batch = train_batch
        self.val_images = val_images
        self.records: list[dict] = []

    def measure(self) -> dict:
        model = self.model
        names = hidden_layer_names(model)
        record: dict = {"grad_norms": gradient_norms(model, *self.train_batch)}
        if self.activation in DEAD_FAMILY | SATURATING:
            # ReLU and Leaky ReLU are positive exactly where their input is, so the activation
            # output tells dead units apart as well as the pre-activation (and sees past batch norm).
            outputs = [model.get_layer(n.replace("hidden_", "act_")).output for n in names]
            probe = keras.Model(model.input, outputs)
            post = [np.asarray(v) for v in probe(self.val_images, training=False)]
            if self.activation in DEAD_FAMILY:
                record["dead_fraction"] = {n: dead_fraction(a) for n, a in zip(names, post, strict=True)}
            else:
                record["saturated_fraction"] = {
                    n: saturated_fraction(a, self.activation) for n, a in zip(names, post, strict=True)
                }
        return record

    def on_train_begin(self, logs=None) -> None:
        self.records = [{"epoch": 0, **self.measure()}]

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.records.append({"epoch": epoch + 1, **self.measure()})
