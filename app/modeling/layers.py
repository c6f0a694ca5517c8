"""Maxout (Goodfellow et al., 2013): k linear pieces per unit, the unit outputs their maximum.

A maxout unit learns its own convex, piecewise-linear activation; ReLU and Leaky ReLU are special
cases with two pieces. Registered for serialisation so `.keras` files load without custom_objects.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="digit_lab")
class Maxout(keras.layers.Layer):
    """Dense layer with `pieces` linear maps per unit, reduced by max: y_j = max_k (x·W_jk + b_jk)."""

    def __init__(self, units: int, pieces: int = 2, kernel_initializer="glorot_uniform", **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.pieces = pieces
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape) -> None:
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_shape[-1], self.units * self.pieces),
            initializer=self.kernel_initializer,
        )
        self.bias = self.add_weight(name="bias", shape=(self.units * self.pieces,), initializer="zeros")

    def call(self, inputs):
        pieces = ops.matmul(inputs, self.kernel) + self.bias
        pieces = ops.reshape(pieces, (-1, self.units, self.pieces))
        return ops.max(pieces, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "pieces": self.pieces,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }
