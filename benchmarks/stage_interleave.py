"""Why the stages cost more back to back than in their tight loops: each stage timed alone in a tight loop, with
the other stages run between its calls (on the same fixed inputs, so only the code in between changes), and alone
again with 4 MiB streamed through the caches between calls (one core's L2 is 1 MiB on the machine of
docs/serving.md); then the real pipeline, the stages back to back on fresh intermediates. If the interleaved sum
and the pipeline agree, fresh data and the allocator are not the cause; if streaming memory alone brings a stage
near its interleaved figure, the stages are evicting each other's code and data from the caches. Rounds alternate
the settings; each figure is the median of the rounds' medians. The page's canvas PNG, the default model.

    PYTHONPATH=$PWD python benchmarks/stage_interleave.py [--runtime litert] [--rounds 3] [--calls 1000]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STREAM_BYTES = 4 << 20  # several times one core's L2 (1 MiB on the machine of docs/serving.md)


def per_stage(stages: dict[str, Callable[[], object]], calls: int,
              between: Callable[[str], None]) -> dict[str, float]:
    """Median µs of each stage's call, with `between(stage)` run after each call (untimed)."""
    times: dict[str, list[float]] = {name: [] for name in stages}
    for _ in range(calls):
        for name, stage in stages.items():
            started = time.perf_counter()
            stage()
            times[name].append(time.perf_counter() - started)
            between(name)
    return {name: statistics.median(values) * 1e6 for name, values in times.items()}


def tight(stages: dict[str, Callable[[], object]], calls: int) -> dict[str, float]:
    from app.benchmark.bench import median_us  # as `digit-lab bench` times its tight loops

    return {name: median_us(stage, calls) for name, stage in stages.items()}


def streamed(stages: dict[str, Callable[[], object]], calls: int) -> dict[str, float]:
    junk = np.ones(STREAM_BYTES, dtype=np.uint8)
    return {name: per_stage({name: stage}, calls, lambda _: junk.sum())[name] for name, stage in stages.items()}


def main() -> None:
    from app.benchmark import bench

    args = bench.round_options(__doc__, rounds=3, calls=1000, calls_help="calls per stage, setting and round")

    settings, loaded = bench.default_model(args.runtime)
    stages, pipeline = bench.request_stages(settings, loaded, bench.canvas_png(bench.sample_digits(1)[0]))
    ways = {"tight loop": tight, "others in between": lambda s, n: per_stage(s, n, lambda _: None),
                     "4 MiB streamed in between": streamed}
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in ways}
    whole: list[float] = []
    for _ in range(args.rounds):
        for name, run in ways.items():
            rounds[name].append(run(stages, args.calls))
        whole.append(bench.median_us(pipeline, args.calls))
    print(f"{args.runtime}, canvas, median µs per call ({args.rounds} rounds of {args.calls})")
    print("| setting | " + " | ".join(stages) + " | sum |")
    print("|---|" + "---:|" * (len(stages) + 1))
    for name, results in rounds.items():
        medians = [statistics.median(r[stage] for r in results) for stage in stages]
        print(f"| {name} | " + " | ".join(f"{m:.0f}" for m in medians) + f" | {sum(medians):.0f} |")
    print(f"the pipeline, back to back on fresh intermediates: {statistics.median(whole):.0f} µs per request")


if __name__ == "__main__":
    main()
