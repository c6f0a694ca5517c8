"""What each middleware adds to POST /predict, in process: the page's canvas through the real app with every
middleware, without each one in turn, and without all of them (LiteRT, whose model call is the cheapest, so the
app's own cost weighs most). Rounds alternate the variants; each figure is the median over rounds of each round's
median. Nothing goes over a socket.

    PYTHONPATH=$PWD python benchmarks/middleware_cost.py --rounds 5 --calls 400
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from app.benchmark import bench

    args = bench.round_options(__doc__, rounds=5, calls=400, calls_help="requests per variant and round (median taken)")

    settings, loaded = bench.default_model(args.runtime)
    body = json.dumps({"image": bench.data_url(bench.canvas_png(bench.sample_digits(1)[0]))}).encode()

    def app_without(dropped: tuple[str, ...]):
        app = bench.app_for(settings, loaded)
        app.user_middleware = [m for m in app.user_middleware if m.cls.__name__ not in dropped]
        return app

    names = tuple(m.cls.__name__ for m in bench.app_for(settings, loaded).user_middleware)
    variants = [(), *((name,) for name in names), names]
    medians: dict[tuple[str, ...], list[float]] = {variant: [] for variant in variants}
    for _ in range(args.rounds):
        for variant in variants:
            medians[variant].append(bench.app_request_us(app_without(variant), body, args.calls))
    whole = statistics.median(medians[()])
    print(f"POST /predict canvas through the app ({args.runtime}), median µs over {args.rounds} rounds")
    for variant in variants:
        label = "every middleware" if not variant else "without all" if variant == names else f"without {variant[0]}"
        value = statistics.median(medians[variant])
        print(f"  {label:32} {value:8.0f}  ({value - whole:+.0f})")


if __name__ == "__main__":
    main()
