"""The model family: a compact CNN (the default) and MLPs that differ only in their hidden activation.

Naming convention every consumer relies on (probes, explain, cards):
- `hidden_{i}` is the layer that holds a hidden layer's weights (Dense, Conv2D or Maxout): its output is
  the pre-activation z = Σwx + b (for maxout, already the max of its pieces);
- `act_{i}` is that layer's activation output, what the next layer sees;
- `logits` is the output layer before softmax, `probabilities` the softmax.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import keras

from app.inference.activations import LEAKY_SLOPE
from app.modeling.layers import Maxout
from app.preprocess import FIELD

INPUT_SHAPE = (FIELD, FIELD, 1)
CLASSES = 10
MLP_DEPTH = 5  # hidden layers: deep enough for sigmoid's gradient to shrink layer by layer
MLP_WIDTH = 128
MAXOUT_PIECES = 2
# Width goes where the map is small: 16 filters at 28x28, 32 at 14x14, 64 at 7x7 and 4x4 (4.4 M multiply-adds
# per image; the first default, 32-32-64-64 with both poolings later, cost 18.7 M for the same 99.5%). The last
# convolution on the 4x4 map sees the whole digit, and the dense layer reads 4x4x64 values rather than 7x7x64:
# a third of its weights, half of the model's.
CNN_FILTERS = (16, 32, 32, 64, 64)
CNN_POOL_AFTER = (1, 3, 4)  # 2x2 max pooling after these convolutions ("same": 7x7 becomes 4x4)
CNN_DENSE = 128
CNN_DROPOUT = 0.4


@dataclass(frozen=True)
class ModelSpec:
    """How one family member is built and trained; every number that matters is named here once."""

    id: str
    title: str
    activation: str  # the hidden activation, as shown to people
    kind: str  # "cnn" or "mlp"
    optimizer: str  # "adam" or "sgd"
    learning_rate: float
    epochs: int
    batch_size: int
    augment: bool
    # Real pen digits of the training writers next to MNIST, and non-digits with a uniform target (outlier
    # exposure), then calibration and verdict thresholds: the model the page serves by default.
    real_handwriting: bool = False


CNN_SPEC = ModelSpec("cnn", "Compact CNN (ReLU)", "relu", "cnn", "adam", 2e-3, 20, 128, True, real_handwriting=True)
MLP_ACTIVATIONS = {
    "linear": "No activation (linear)",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "relu": "ReLU",
    "leaky-relu": "Leaky ReLU",
    "maxout": "Maxout",
}
MLP_RECIPE = dict(optimizer="sgd", learning_rate=0.05, epochs=20, batch_size=64, augment=False)
# The same family under Adam, for contrast: adaptive per-weight steps largely hide the vanishing gradient.
ADAM_LEARNING_RATE = 1e-3
SPECS: dict[str, ModelSpec] = {
    CNN_SPEC.id: CNN_SPEC,
    **{
        name: ModelSpec(name, f"{MLP_DEPTH}x{MLP_WIDTH} MLP, {title}", name, "mlp", **MLP_RECIPE)
        for name, title in MLP_ACTIVATIONS.items()
    },
}


def with_adam(spec: ModelSpec) -> ModelSpec:
    """The MLP `spec` trained with Adam instead of plain SGD (id `<id>-adam`); everything else equal."""
    if spec.kind != "mlp":
        raise ValueError(f"{spec.id}: the Adam contrast is for the MLP family")
    return replace(spec, id=f"{spec.id}-adam", title=f"{spec.title} (Adam)", optimizer="adam",
                   learning_rate=ADAM_LEARNING_RATE)


def activation_layer(name: str, layer_name: str) -> keras.layers.Layer:
    """The hidden activation as its own layer, so probes and `explain` can read it."""
    if name == "leaky-relu":
        return keras.layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=layer_name)
    if name == "maxout":  # the max already happened inside the Maxout layer
        return keras.layers.Activation("linear", name=layer_name)
    return keras.layers.Activation(name, name=layer_name)


def output_head(features: keras.KerasTensor) -> keras.KerasTensor:
    logits = keras.layers.Dense(CLASSES, name="logits")(features)
    return keras.layers.Activation("softmax", name="probabilities")(logits)


def build_mlp(activation: str, seed: int) -> keras.Model:
    """MLP_DEPTH hidden layers of MLP_WIDTH units; Glorot-uniform initialisation for every member."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    for i in range(1, MLP_DEPTH + 1):
        init = keras.initializers.GlorotUniform(seed=seed + i)
        if activation == "maxout":
            x = Maxout(MLP_WIDTH, MAXOUT_PIECES, kernel_initializer=init, name=f"hidden_{i}")(x)
        else:
            x = keras.layers.Dense(MLP_WIDTH, kernel_initializer=init, name=f"hidden_{i}")(x)
        x = activation_layer(activation, f"act_{i}")(x)
    return keras.Model(inputs, output_head(x), name=f"mlp_{activation.replace('-', '_')}")


def build_cnn(seed: int) -> keras.Model:
    """Five 3x3 convolutions with batch norm and ReLU, three poolings, then a dense layer over the whole 4x4 map.

    Flattening (not global average pooling) keeps where each feature is: a first version with global pooling
    reached only 99.19% and mistook thick slanted 1s for 0s.
    """
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = inputs
    for i, filters in enumerate(CNN_FILTERS, start=1):
        init = keras.initializers.HeNormal(seed=seed + i)
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer=init,
                                name=f"hidden_{i}")(x)
        x = keras.layers.BatchNormalization(name=f"norm_{i}")(x)
        x = keras.layers.Activation("relu", name=f"act_{i}")(x)
        if i in CNN_POOL_AFTER:
            x = keras.layers.MaxPooling2D(2, padding="same", name=f"pool_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    i = len(CNN_FILTERS) + 1
    x = keras.layers.Dense(CNN_DENSE, kernel_initializer=keras.initializers.HeNormal(seed=seed + i),
                           name=f"hidden_{i}")(x)
    x = keras.layers.Activation("relu", name=f"act_{i}")(x)
    x = keras.layers.Dropout(CNN_DROPOUT, seed=seed, name="dropout")(x)
    return keras.Model(inputs, output_head(x), name="cnn")


def build(spec: ModelSpec, seed: int) -> keras.Model:
    return build_cnn(seed) if spec.kind == "cnn" else build_mlp(spec.activation, seed)


def hidden_layer_names(model: keras.Model) -> list[str]:
    """Names of the hidden layers (`hidden_1`, `hidden_2`, …) in order."""
    names = [layer.name for layer in model.layers if layer.name.startswith("hidden_")]
    return sorted(names, key=lambda name: int(name.split("_")[1]))


def multiply_adds(model: keras.Model) -> int:
    """Multiply-adds per image in the convolutions and dense layers: what one prediction costs on a CPU, and why
    the default CNN keeps its width off the 28x28 map."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, filters = layer.output.shape
            kernel_height, kernel_width, channels, _ = layer.kernel.shape
            total += height * width * filters * kernel_height * kernel_width * channels
        elif isinstance(layer, keras.layers.Dense):
            total += layer.kernel.shape[0] * layer.kernel.shape[1]
    return total
