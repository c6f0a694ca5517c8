"""MNIST from Keras's download (the default), a directory of the original IDX files, or an `.npz`.

Every source yields the same thing: uint8 arrays, white digits on black, shape (n, 28, 28), and
labels as uint8 — exactly what `keras.datasets.mnist.load_data()` returns.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.preprocess import FIELD

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
IDX_UBYTE_TYPE = 0x08


@dataclass(frozen=True)
class Mnist:
    """The four MNIST arrays plus a checksum of their contents (recorded in model cards)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    @property
    def checksum(self) -> str:
        """SHA-256 over all four arrays, so a card says exactly which data it was measured on."""
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            digest.update(np.ascontiguousarray(array).tobytes())
        return "sha256:" + digest.hexdigest()


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) of unsigned bytes into an array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        raw = stream.read()
    if len(raw) < 4:
        raise ValueError(f"{path}: too short to be an IDX file")
    zero, data_type, dims = struct.unpack(">HBB", raw[:4])
    if zero != 0 or data_type != IDX_UBYTE_TYPE:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (magic {raw[:4].hex()})")
    shape = struct.unpack(f">{dims}I", raw[4 : 4 + 4 * dims])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} but holds {data.size} bytes")
    return data.reshape(shape)


def _find_idx(directory: Path, stem: str) -> Path:
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{directory}: missing {stem}.gz (or {stem})")


def load_mnist(source: str | Path | None = None) -> Mnist:
    """Load MNIST from `source`: None → Keras's download; a directory of IDX files; or an `.npz` file."""
    if source is None:
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        return Mnist(x_train, y_train, x_test, y_test, source="keras.datasets.mnist")
    path = Path(source)
    if path.is_dir():
        arrays = {key: read_idx(_find_idx(path, stem)) for key, stem in IDX_FILES.items()}
    elif path.suffix == ".npz":
        with np.load(path) as npz:
            arrays = {key: npz[key] for key in IDX_FILES}
    else:
        raise FileNotFoundError(f"{path}: expected a directory of MNIST IDX files or an .npz file")
    for key in ("x_train", "x_test"):
        if arrays[key].shape[1:] != (FIELD, FIELD):
            raise ValueError(f"{path}: {key} has shape {arrays[key].shape}, expected (n, {FIELD}, {FIELD})")
    return Mnist(**{k: v.astype(np.uint8) for k, v in arrays.items()}, source=str(path))
