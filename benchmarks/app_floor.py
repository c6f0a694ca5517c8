"""What the app costs around the stages when the stages cost nothing: POST /predict with the page's canvas through
the real app (every middleware, the same route, the same JSON parsing and checks) but answering with the answer's
bytes computed beforehand, so no base64, decode, preprocessing, model or answer building runs. Next to it, in the
same alternating rounds: the real request, the five stages in their tight loops (the ratio target's
denominator), the stages back to back with no app, the same prebuilt answer without the middleware, and a bare
ASGI callable that reads the body and sends the same bytes (no Starlette, no FastAPI). Each figure is the median
of the rounds' medians.

If the stages back to back plus this floor already exceed 1.3 × the tight loops, the in-process ratio target of
issue 18 cannot be met by any change around the stages that keeps the app's checks.

    PYTHONPATH=$PWD python benchmarks/app_floor.py [--runtime litert] [--rounds 5] [--calls 400]
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def prebuilt_app(settings, loaded, answer: bytes, middleware: bool):
    """The real app, with a route placed first at POST /predict that does everything the page's route does
    before the stages (content type, body, JSON parsing into the request schema) and then sends `answer`."""
    from starlette.responses import Response
    from starlette.routing import Route

    from app.api.deps import parse_body, require_json_type
    from app.benchmark import bench
    from app.schemas import PredictRequest

    async def fixed_answer(request) -> Response:
        require_json_type(request)
        parse_body(PredictRequest, await request.body())
        return Response(answer, media_type="application/json")

    app = bench.app_for(settings, loaded)
    app.router.routes.insert(0, Route("/predict", fixed_answer, methods=["POST"]))
    if not middleware:
        app.user_middleware = []
    return app


def bare_asgi(answer: bytes, parse: bool = False):
    """The least an ASGI app can do for this request: read the body (and, with `parse`, parse it into the request
    schema as the page's route does), send a status, headers and the bytes."""
    from app.api.deps import parse_body
    from app.schemas import PredictRequest

    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]

    async def app(scope, receive, send) -> None:
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        if parse:
            parse_body(PredictRequest, b"".join(chunks))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    return app


def with_app_middleware(app, inner):
    """`inner` wrapped in `app`'s own middleware (the bad-input defences and headers), innermost first as
    Starlette stacks them, but without Starlette's routing, request object and exception handlers."""
    for middleware in reversed(app.user_middleware):
        inner = middleware.cls(inner, *middleware.args, **middleware.kwargs)
    return inner


def main() -> None:
    from app.benchmark import bench

    args = bench.round_options(__doc__, rounds=5, calls=400, calls_help="calls per variant and round (median taken)")

    settings, loaded = bench.default_model(args.runtime)
    png = bench.canvas_png(bench.sample_digits(1)[0])
    body = json.dumps({"image": bench.data_url(png)}).encode()
    stages, pipeline = bench.request_stages(settings, loaded, png)
    answer = pipeline().encode()
    served = bench.app_for(settings, loaded)
    apps = {
        "the app as served": served,
        "the app, prebuilt answer": prebuilt_app(settings, loaded, answer, middleware=True),
        "the app, prebuilt answer, no middleware": prebuilt_app(settings, loaded, answer, middleware=False),
        "the app's middleware around bare ASGI, parsed": with_app_middleware(served, bare_asgi(answer, parse=True)),
        "bare ASGI, parsed, prebuilt answer": bare_asgi(answer, parse=True),
        "bare ASGI, prebuilt answer": bare_asgi(answer),
    }
    rounds: dict[str, list[float]] = {name: [] for name in ("stages, tight loops", "stages back to back", *apps)}
    for _ in range(args.rounds):
        rounds["stages, tight loops"].append(sum(bench.median_us(stage, args.calls) for stage in stages.values()))
        rounds["stages back to back"].append(bench.median_us(pipeline, args.calls))
        for name, app in apps.items():
            rounds[name].append(bench.app_request_us(app, body, args.calls))
    median = {name: statistics.median(values) for name, values in rounds.items()}
    tight = median["stages, tight loops"]
    print(f"POST /predict, the page's canvas, {args.runtime}: median µs over {args.rounds} rounds of {args.calls}")
    for name, value in median.items():
        print(f"  {name:46} {value:8.0f}  ({value / tight:.2f} × the tight loops)")
    floor = median["the app, prebuilt answer"]
    allowed = 1.3 * tight - median["stages back to back"]
    print(f"room the target leaves around the stages back to back: 1.3 × {tight:.0f} − "
          f"{median['stages back to back']:.0f} = {allowed:.0f} µs; the app around a prebuilt answer costs "
          f"{floor:.0f} µs, so stages back to back + that floor = "
          f"{(median['stages back to back'] + floor) / tight:.2f} × the tight loops")


if __name__ == "__main__":
    main()
