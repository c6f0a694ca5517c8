"""Augmentation for hand-drawn digits: small shifts, rotations, scale, shear and stroke thickness.

People draw with a slant, a little off-centre, with pens thicker or thinner than MNIST's. Applied in
the tf.data pipeline on batches of shape (n, 28, 28, 1) in [0, 1]; the saved model never contains it.
"""

from __future__ import annotations

import keras
import tensorflow as tf

ROTATION_DEGREES = 12
SHIFT_FRACTION = 0.08  # of the 28-pixel side: about two pixels
ZOOM_FRACTION = 0.12
SHEAR_FACTOR = 0.15
THICKNESS_RANGE = (-0.5, 0.8)  # blend towards erosion (<0) or dilation (>0) by a 3x3 neighbourhood


def stroke_thickness(images: tf.Tensor, seed: int) -> tf.Tensor:
    """Make each stroke randomly thinner or thicker by blending with a 3x3 erosion or dilation."""
    amount = tf.random.uniform(
        (tf.shape(images)[0], 1, 1, 1), *THICKNESS_RANGE, seed=seed, dtype=images.dtype
    )
    dilated = tf.nn.max_pool2d(images, 3, 1, "SAME")
    eroded = -tf.nn.max_pool2d(-images, 3, 1, "SAME")
    target = tf.where(amount > 0, dilated, eroded)
    return images + tf.abs(amount) * (target - images)


def build_augmenter(seed: int) -> keras.Sequential:
    """The geometric part, as Keras preprocessing layers (deterministic for a given seed)."""
    return keras.Sequential(
        [
            keras.layers.RandomRotation(ROTATION_DEGREES / 360, fill_mode="constant", seed=seed),
            keras.layers.RandomShear(x_factor=SHEAR_FACTOR, y_factor=0.0, fill_mode="constant", seed=seed + 1),
            keras.layers.RandomZoom(ZOOM_FRACTION, fill_mode="constant", seed=seed + 2),
            keras.layers.RandomTranslation(SHIFT_FRACTION, SHIFT_FRACTION, fill_mode="constant", seed=seed + 3),
        ],
        name="augment",
    )


def augment_dataset(dataset: tf.data.Dataset, seed: int) -> tf.data.Dataset:
    """Map batches (images, labels) through the geometric and thickness augmentations."""
    augmenter = build_augmenter(seed)

    def apply(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        images = augmenter(images, training=True)
        images = stroke_thickness(images, seed)
        return tf.clip_by_value(images, 0.0, 1.0), labels

    return dataset.map(apply, num_parallel_calls=tf.data.AUTOTUNE)
