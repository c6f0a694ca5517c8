"""A written number → its digits, left to right: one 28x28 MNIST input and one box per digit.

How, and why this way:
- Ink (`preprocess.ink_image`) is binarised and box-pooled to about LABEL_ROWS rows, then labelled into
  connected components by runs (a run-length union-find): no SciPy, and under a millisecond for the
  number pad's 512x128.
- A digit can be several pen strokes (a 5 whose bar was lifted, a crossed 7, a 4 in two strokes), so
  components whose columns overlap by more than MERGE_OVERLAP of the narrower one are one digit. A speck (much
  smaller than the tallest component) that overlaps no digit is dropped: an i-dot, a slip of the pen.
- Touching digits are one component. A group wider than a single digit usually is, that the touching-pair
  detector (app/touching.py) calls two digits, or that the classifier is unsure of, gets candidate cuts: at
  each of CUT_POSITIONS, the cheapest top-to-bottom seam through its ink (it may bend round an overhanging
  stroke) and a straight vertical cut. Both sides of every cut are classified in one batch; the cut kept is the
  one whose two parts the classifier is surest of and the detector finds likeliest to be one digit each, and
  whose readings the pair reader (app/pairs.py), reading the whole group, agrees with.
  Whether to split at all is decided by the group's width, the detector, and the classifier's sureness of it
  whole (a single wide 0 must not become "11"). The classifier alone cannot decide it for narrower groups: it
  reads a joined "10" as a sure 0.
- Every crop goes through `preprocess.to_mnist`, the single-digit recipe, so a digit read in a number is read
  exactly as it would be alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from app.errors import BlankImageError, TooManyDigitsError
from app.pairs import PairReader, pair_input
from app.preprocess import BLANK, ink_image, to_mnist
from app.touching import TouchDetector

Classify = Callable[[np.ndarray], np.ndarray]  # (n, 28, 28) float32 → (n, 10) probabilities
Box = tuple[int, int, int, int]  # x0, y0, x1, y1: pixels of the submitted image, the end exclusive

LABEL_ROWS = 64  # components are found on a mask pooled to about this many rows: fast, and gaps under one
# pooled pixel (1/64 of the image's height) count as touching, which the split step then handles
SPECK = 0.2  # a component whose box is under this share of the tallest component's height on both sides
MERGE_OVERLAP = 0.5  # column overlap, as a share of the narrower group, that makes two groups one digit
CROP_MARGIN = 2  # zero pixels around each digit's crop, so to_mnist sees a clean background ring
# When to split: a group the touching-pair detector calls two digits, whatever its width. A group wider than
# FORCE_SPLIT_RATIO for its height (under 0.5% of single digits are: a wide 0, 2 or 5) takes its best cut unless
# the classifier is WIDE_SURE of it whole (the default model learned two digits side by side as "not a digit", so
# a wide pair is rarely read whole that surely); a narrower one only in the grey zone below, or when the
# classifier is under SURE of it whole and surer of the split's two digits (the product of their top
# probabilities) than of the whole. Tuned on the other 22 writers' pen digits (held-out writers excluded): looser
# rules (a higher SURE, a lower FORCE) split touching pairs more often, but split single wide digits too, and a
# number's digit count matters more.
FORCE_SPLIT_RATIO = 1.5
WIDE_SURE = 0.9
SURE = 0.5
CUT_POSITIONS = tuple(np.linspace(0.1, 0.9, 17))  # where candidate seams end, as a share of the group's width: every 5%
MIN_PART = 0.12  # each side of a cut holds at least this share of the group's ink
SEAM_ROWS = 48  # seams are found on the group's ink pooled to about this many rows
BEND_COST = 0.02  # a seam pays this (in ink) per sideways step: straight cuts are preferred on a tie
# Under the detector's threshold, a narrow group that it scores at least GREY_TWO and that the classifier is under
# GREY_SURE of whole is cut as touching digits: of the non-held-out writers' single digits none was both, while
# about two in three of the touching pairs that the threshold let through were (docs/numbers.md).
GREY_TWO = 0.5
GREY_SURE = 0.8
# When the pair reader is at least PAIR_TRUST sure of its own reading of the whole group and some cut's two parts
# read exactly that, the best such cut is kept, even if another ranks higher (docs/numbers.md).
PAIR_TRUST = 0.6
MAX_ROUNDS = 3  # a group split in two may still hold touching digits; rounds of splitting at most


@dataclass(frozen=True)
class Digit:
    """One digit of the number: where it is, what the model saw, what it answered."""

    box: Box
    image: np.ndarray  # 28x28 float32, MNIST-style
    probabilities: np.ndarray  # (10,)

    @property
    def digit(self) -> int:
        return int(np.argmax(self.probabilities))


@dataclass
class _Group:
    """A candidate digit: its ink (zero outside it) within its box of the full-size ink image."""

    box: Box
    ink: np.ndarray

    @property
    def ratio(self) -> float:
        x0, y0, x1, y1 = self.box
        return (x1 - x0) / max(1, y1 - y0)

    @cached_property
    def mnist(self) -> np.ndarray:
        """The MNIST input for this ink, computed once (a part read during a split is read again as a digit)."""
        height, width = self.ink.shape
        framed = np.zeros((height + 2 * CROP_MARGIN, width + 2 * CROP_MARGIN), dtype=np.float32)
        framed[CROP_MARGIN : CROP_MARGIN + height, CROP_MARGIN : CROP_MARGIN + width] = self.ink
        return to_mnist(framed)


def label_runs(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of a boolean mask: (labels, 0 = background and 1..n; n). Works on runs, all in
    numpy: each run is linked to the runs of the row above that touch it (found by binary search), and the links
    are settled by propagating the smallest run index with pointer jumping."""
    height, width = mask.shape
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)  # exclusive; the same row-major order as the starts
    count = len(starts)
    labels = np.zeros((height, width), dtype=np.int32)
    if count == 0:
        return labels, 0
    # Runs are in row-major order, so keys row * stride + column sort them; a run of the row above touches run
    # i (diagonals included) when its start <= end_i and its end >= start_i.
    stride = width + 2
    first = np.searchsorted(rows * stride + ends, (rows - 1) * stride + starts, side="left")
    last = np.searchsorted(rows * stride + starts, (rows - 1) * stride + ends, side="right")
    links = last - first
    here = np.repeat(np.arange(count), np.maximum(links, 0))
    offsets = np.arange(len(here)) - np.repeat(np.cumsum(np.maximum(links, 0)) - np.maximum(links, 0),
                                               np.maximum(links, 0))
    above = np.repeat(first, np.maximum(links, 0)) + offsets
    root = np.arange(count)
    while True:
        low = np.minimum(root[here], root[above])
        before = root.copy()
        np.minimum.at(root, here, low)
        np.minimum.at(root, above, low)
        root = root[root]  # pointer jumping: each run points at its link's representative
        if np.array_equal(root, before):
            break
    unique, run_label = np.unique(root, return_inverse=True)
    lengths = ends - starts
    positions = np.repeat(rows * width + starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    labels.flat[positions] = np.repeat(run_label.astype(np.int32) + 1, lengths)
    return labels, len(unique)


def _pool(mask: np.ndarray, factor: int) -> np.ndarray:
    """Any-ink pooling by `factor` on both axes (the edges padded with background). An OR over `factor` strided
    views: numpy's `.any(axis=...)` over a reshaped array costs about twenty times as much here."""
    if factor == 1:
        return mask
    height, width = mask.shape
    padded = np.zeros((-(-height // factor) * factor, -(-width // factor) * factor), dtype=bool)
    padded[:height, :width] = mask
    rows = _any_of_last(padded.reshape(padded.shape[0] // factor, factor, padded.shape[1]).transpose(0, 2, 1))
    return _any_of_last(rows.reshape(rows.shape[0], rows.shape[1] // factor, factor))


def _any_of_last(cells: np.ndarray) -> np.ndarray:
    """OR over the last axis, one strided view at a time."""
    out = cells[..., 0].copy()
    for offset in range(1, cells.shape[-1]):
        out |= cells[..., offset]
    return out


def _components(ink: np.ndarray) -> list[_Group]:
    """Connected components of the ink, each with its own ink only (a neighbour's strokes inside its box are 0)."""
    height, width = ink.shape
    factor = max(1, -(-height // LABEL_ROWS))
    labels, count = label_runs(_pool(ink > 0, factor))
    rows, cols = np.nonzero(labels)
    which = labels[rows, cols] - 1
    top, left = np.full(count, labels.shape[0]), np.full(count, labels.shape[1])
    bottom, right = np.zeros(count, dtype=np.int64), np.zeros(count, dtype=np.int64)
    np.minimum.at(top, which, rows)
    np.minimum.at(left, which, cols)
    np.maximum.at(bottom, which, rows + 1)
    np.maximum.at(right, which, cols + 1)
    groups = []
    for label in range(count):
        sy0, sy1, sx0, sx1 = int(top[label]), int(bottom[label]), int(left[label]), int(right[label])
        y0, y1 = sy0 * factor, min(height, sy1 * factor)
        x0, x1 = sx0 * factor, min(width, sx1 * factor)
        own = labels[sy0:sy1, sx0:sx1] == label + 1
        own = np.repeat(np.repeat(own, factor, axis=0), factor, axis=1)[: y1 - y0, : x1 - x0]
        part = np.where(own, ink[y0:y1, x0:x1], 0.0).astype(np.float32)
        groups.append(_tight(part, (x0, y0)))
    return [g for g in groups if g is not None]


def _tight(ink: np.ndarray, origin: tuple[int, int]) -> _Group | None:
    """The group trimmed to its ink's bounding box; None when no ink is left."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if not rows.size:
        return None
    x, y = origin
    box = (x + int(cols[0]), y + int(rows[0]), x + int(cols[-1]) + 1, y + int(rows[-1]) + 1)
    return _Group(box, ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])


def _union(a: _Group, b: _Group) -> _Group:
    """Two groups as one: the ink of both in the box around both."""
    x0, y0 = min(a.box[0], b.box[0]), min(a.box[1], b.box[1])
    x1, y1 = max(a.box[2], b.box[2]), max(a.box[3], b.box[3])
    ink = np.zeros((y1 - y0, x1 - x0), dtype=np.float32)
    for g in (a, b):
        gx0, gy0, gx1, gy1 = g.box
        region = ink[gy0 - y0 : gy1 - y0, gx0 - x0 : gx1 - x0]
        np.maximum(region, g.ink, out=region)
    return _Group((x0, y0, x1, y1), ink)


def _overlap(a: _Group, b: _Group) -> float:
    """Shared columns as a share of the narrower group's width."""
    shared = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    return shared / max(1, min(a.box[2] - a.box[0], b.box[2] - b.box[0]))


def group_strokes(components: list[_Group]) -> list[_Group]:
    """Components → candidate digits, left to right: column-overlapping ones merged, stray specks dropped."""
    if not components:
        return []
    tallest = max(g.box[3] - g.box[1] for g in components)
    groups: list[_Group] = []
    for component in sorted(components, key=lambda g: g.box[0]):
        groups.append(component)
        # merging can make a group wider and so reach an earlier one: settle from the right end
        while len(groups) > 1 and _overlap(groups[-2], groups[-1]) > MERGE_OVERLAP:
            last = groups.pop()
            groups[-1] = _union(groups[-1], last)
        if len(groups) > 2 and _overlap(groups[-3], groups[-2]) > MERGE_OVERLAP:
            middle = groups.pop(-2)
            groups[-2] = _union(groups[-2], middle)
    limit = SPECK * tallest
    return [g for g in groups if max(g.box[2] - g.box[0], g.box[3] - g.box[1]) >= limit]


def seam_cuts(ink: np.ndarray) -> list[np.ndarray]:
    """Candidate cuts, each the cut column for every row (the pixels left of it go left): at each of
    CUT_POSITIONS the cheapest top-to-bottom seam ending there, and a straight cut. Seams are found by dynamic
    programming on the ink pooled to about SEAM_ROWS rows, one sideways step per pooled row at most, then
    scaled back up."""
    height, width = ink.shape
    factor = max(1, -(-height // SEAM_ROWS))
    rows, cols = -(-height // factor), -(-width // factor)
    padded = np.zeros((rows * factor, cols * factor), dtype=np.float32)
    padded[:height, :width] = ink
    cost = padded.reshape(rows, factor, cols, factor).sum(axis=(1, 3)) / (factor * factor)
    total = np.empty_like(cost)
    step = np.zeros((rows, cols), dtype=np.int8)  # where each cell's cheapest path came from: -1, 0, +1
    total[0] = cost[0]
    for r in range(1, rows):
        prev = total[r - 1]
        left = np.concatenate([[np.inf], prev[:-1]]) + BEND_COST
        right = np.concatenate([prev[1:], [np.inf]]) + BEND_COST
        choice = np.argmin(np.stack([left, prev, right]), axis=0)
        step[r] = choice - 1
        total[r] = cost[r] + np.choose(choice, [left, prev, right])
    # a seam ending at each of CUT_POSITIONS across the group; seams that end apart often run together
    seams, seen = [], set()
    for share in CUT_POSITIONS:
        path = np.empty(rows, dtype=np.int64)
        path[-1] = min(cols - 1, int(share * cols))
        for r in range(rows - 1, 0, -1):
            path[r - 1] = path[r] + step[r, path[r]]
        key = path.tobytes()
        if key in seen:
            continue
        seen.add(key)
        cut = np.repeat(path * factor + factor // 2, factor)[:height]
        seams.append(np.minimum(cut, width))
        seams.append(np.full(height, min(width, int(share * width))))  # straight: often better through overlaps
    return seams


def _split(group: _Group, cut: np.ndarray) -> tuple[_Group, _Group] | None:
    """The group's ink left and right of a seam, each trimmed; None if either side holds under MIN_PART."""
    columns = np.arange(group.ink.shape[1])
    left_of = columns[np.newaxis, :] < cut[:, np.newaxis]
    left_ink = np.where(left_of, group.ink, 0.0).astype(np.float32)
    right_ink = group.ink - left_ink
    total = float(group.ink.sum())
    if min(float(left_ink.sum()), float(right_ink.sum())) < MIN_PART * total:
        return None
    left = _tight(left_ink, group.box[:2])
    right = _tight(right_ink, group.box[:2])
    if left is None or right is None or not (_readable(left) and _readable(right)):
        return None
    return left, right


def _readable(part: _Group) -> bool:
    """Whether the part has enough ink for to_mnist (its own stretch drops faint pixels): a cut through the thin
    end of a stroke can leave a sliver that is "blank", which would make the whole number a 422."""
    try:
        part.mnist  # noqa: B018 (computed once and kept: the part is classified next)
    except BlankImageError:
        return False
    return True


def _sure(probabilities: np.ndarray) -> float:
    return float(np.max(probabilities))


def _classify(images: list[np.ndarray], classify: Classify) -> np.ndarray:
    return np.asarray(classify(np.stack(images).astype(np.float32)))


def _candidates(group: _Group) -> list[tuple[_Group, _Group]]:
    return [parts for cut in seam_cuts(group.ink) if (parts := _split(group, cut)) is not None]


def _choose(group: _Group, whole: np.ndarray, options: list[tuple[_Group, _Group]], answers: np.ndarray,
            touching: bool, detector: TouchDetector | None,
            pairs: PairReader | None) -> tuple[tuple[_Group, _Group], np.ndarray] | None:
    """The split to keep, if any (see FORCE_SPLIT_RATIO, WIDE_SURE and SURE; `touching`: the detector says the group
    holds two digits, or leans that way while the classifier doubts it whole), and its two answers. The cut kept is
    the one whose two parts the classifier is surest of and, with a detector, that it finds likeliest to be one
    digit each: a cut through the wrong place leaves a part with a piece of its neighbour, which the detector sees.
    With a pair reader, the chance that the two parts' readings match its reading of the whole group weighs in too,
    and when it is PAIR_TRUST sure of that reading, the best cut that reads it wins (docs/numbers.md has what each
    adds)."""
    if not options:
        return None
    left, right = answers[0::2], answers[1::2]
    sure = left.max(axis=1) * right.max(axis=1)
    wide = group.ratio >= FORCE_SPLIT_RATIO and _sure(whole) < WIDE_SURE
    unsure_whole = _sure(whole) < SURE
    if not (wide or touching or (unsure_whole and sure.max() > _sure(whole))):
        return None  # no cut could be kept: the detector and the pair reader need not look
    ranking = sure
    if detector is not None:
        one_each = 1.0 - detector.two_digits(np.stack([part.mnist for parts in options for part in parts]))
        ranking = ranking * one_each[0::2] * one_each[1::2]
    if pairs is not None:
        both = pairs.read(pair_input(group.ink)[np.newaxis])[0]  # (10, 10): first digit, second
        ranking = ranking * np.einsum("ia,ab,ib->i", left, both, right)
    best = int(np.argmax(ranking))
    if pairs is not None and both.max() >= PAIR_TRUST:  # a sure reading of the whole picks among the cuts
        first, second = np.unravel_index(int(np.argmax(both)), both.shape)
        agreeing = (left.argmax(axis=1) == first) & (right.argmax(axis=1) == second)
        if agreeing.any():
            best = int(np.argmax(np.where(agreeing, ranking, -1.0)))
    if wide or touching or (unsure_whole and sure[best] > _sure(whole)):
        return options[best], answers[2 * best : 2 * best + 2]
    return None


def _resolve(groups: list[_Group], classify: Classify,
             detector: TouchDetector | None, pairs: PairReader | None) -> tuple[list[Digit], list[_Group]]:
    """Read each group whole, and split those that hold touching digits. The candidate splits of wide groups and of
    those the detector calls two digits share the model call with every whole group; only a narrower group the
    classifier is unsure of (or that is in the grey zone, GREY_TWO and GREY_SURE) costs a second call. Returns the
    digits settled and the parts of split groups that may hold more touching digits."""
    wholes = [g.mnist for g in groups]
    narrow = [g.ratio < FORCE_SPLIT_RATIO for g in groups]
    two = detector.two_digits(np.stack(wholes)) if detector is not None else np.zeros(len(groups))
    touching = [bool(detector is not None and t >= detector.threshold) for t in two]
    cut_now = [not n or t for n, t in zip(narrow, touching, strict=True)]
    options = [_candidates(g) if c else [] for g, c in zip(groups, cut_now, strict=True)]
    answers = _classify(wholes + _pieces(options), classify)
    whole_answers, per_group = answers[: len(groups)], _per_group(options, answers[len(groups) :])
    for i, p in enumerate(whole_answers):  # the grey zone under the detector's threshold (GREY_TWO, GREY_SURE)
        if not cut_now[i] and two[i] >= GREY_TWO and _sure(p) < GREY_SURE:
            touching[i] = True
    unsure = [i for i, p in enumerate(whole_answers) if not cut_now[i] and (touching[i] or _sure(p) < SURE)]
    late = [_candidates(groups[i]) for i in unsure]
    if any(late):
        late_answers = _per_group(late, _classify(_pieces(late), classify))
        for i, group_options, group_answers in zip(unsure, late, late_answers, strict=True):
            options[i], per_group[i] = group_options, group_answers
    digits: list[Digit] = []
    parts_left: list[_Group] = []
    for i, group in enumerate(groups):
        chosen = _choose(group, whole_answers[i], options[i], per_group[i], touching[i], detector, pairs)
        if chosen is None:
            digits.append(Digit(group.box, wholes[i], whole_answers[i]))
            continue
        for part, answer in zip(*chosen, strict=True):
            # Read already, and one digit: narrow, and sure, or cut where the pair reader agrees with the parts
            # (an unsure part of such a cut is mostly a digit damaged by the cut; splitting it again over-splits)
            if part.ratio < FORCE_SPLIT_RATIO and (pairs is not None or _sure(answer) >= SURE):
                digits.append(Digit(part.box, part.mnist, answer))
            else:
                parts_left.append(part)
    return digits, parts_left


def _pieces(options: list[list[tuple[_Group, _Group]]]) -> list[np.ndarray]:
    return [part.mnist for group_options in options for parts in group_options for part in parts]


def _per_group(options: list[list[tuple[_Group, _Group]]], answers: np.ndarray) -> list[np.ndarray]:
    """The flat answers for every candidate's two parts, cut back into one array per group."""
    out, start = [], 0
    for group_options in options:
        out.append(answers[start : start + 2 * len(group_options)])
        start += 2 * len(group_options)
    return out


def read_digits(grey: np.ndarray, classify: Classify, max_digits: int,
                detector: TouchDetector | None = None, pairs: PairReader | None = None) -> list[Digit]:
    """Greyscale image of a written number → its digits, left to right. `detector` finds touching pairs among
    the narrower groups (without one, only the classifier's unsureness does); `pairs` helps choose where to cut a
    group in two. Raises BlankImageError when there is no ink, TooManyDigitsError when the ink holds more than
    `max_digits` digits."""
    ink = ink_image(grey)
    groups = group_strokes(_components(ink))
    if not groups:
        raise BlankImageError(BLANK)
    digits: list[Digit] = []
    for _ in range(MAX_ROUNDS):
        if len(groups) + len(digits) > max_digits:
            raise TooManyDigitsError(len(groups) + len(digits), max_digits)
        settled, groups = _resolve(groups, classify, detector, pairs)
        digits += settled
        if not groups:
            break
    else:  # parts still to settle after the last round: read them as they are
        probabilities = _classify([g.mnist for g in groups], classify)
        digits += [Digit(g.box, g.mnist, p) for g, p in zip(groups, probabilities, strict=True)]
    if len(digits) > max_digits:
        raise TooManyDigitsError(len(digits), max_digits)
    return sorted(digits, key=lambda d: (d.box[0] + d.box[2]) / 2)
