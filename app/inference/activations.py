"""Shaping hidden activations for the page, shared by both runtimes (no TensorFlow here, so LiteRT stays light)."""

from __future__ import annotations

import numpy as np

# Leaky ReLU's slope below zero: the models are built with it and the lesson plots it (one number, one place).
LEAKY_SLOPE = 0.1
EXPLAIN_MAP_SIDE = 7  # conv activation maps are average-pooled to 7x7 …
EXPLAIN_MAX_CHANNELS = 16  # … and only the first 16 channels are sent, so an answer stays ~25 kB


def pool_maps(values: np.ndarray) -> np.ndarray:
    """(h, w, channels) → (≤16 channels, 7, 7) by averaging; dense vectors pass through."""
    if values.ndim == 1:
        return values
    height, width, channels = values.shape
    factor = max(1, height // EXPLAIN_MAP_SIDE)
    side = height // factor
    trimmed = values[: side * factor, : side * factor, :EXPLAIN_MAX_CHANNELS]
    channels = trimmed.shape[-1]
    pooled = trimmed.reshape(side, factor, side, factor, channels).mean(axis=(1, 3))
    return np.transpose(pooled, (2, 0, 1))
