"""`digit-lab`: the one entry point — serve the demo, train and evaluate models, compare the family."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import MutableMapping
from pathlib import Path

from app.config import PROJECT_ROOT

DATA_HELP = (
    "MNIST source: a directory of the original IDX files (*-ubyte.gz) or an .npz with "
    "x_train/y_train/x_test/y_test. Default: Keras's download (needs internet)."
)


def quiet_tensorflow() -> None:
    """TensorFlow's C++ start-up chatter hides what matters on a terminal."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


MODEL_PROBLEM = "digit-lab model problem: "
# The child leaves with os._exit: its answer is known by then, and TensorFlow's teardown at interpreter exit can
# abort (exit 134), which would read as a failed check and stop a healthy server from starting.
CHECK_DEFAULT_MODEL = f"""
import os, sys
from app.config import get_settings
from app.errors import ModelLoadError
from app.inference.registry import Registry
settings = get_settings()
try:
    Registry.load(settings.models_dir, settings.default_model, settings.runtime, others="skip")
except ModelLoadError as error:
    print({MODEL_PROBLEM!r} + str(error), file=sys.stderr)
    sys.stderr.flush()
    os._exit(1)
sys.stderr.flush()
os._exit(0)
"""


def check_default_model() -> str | None:
    """Load the default model once in a child process (same settings, from the environment); its error, or None."""
    result = subprocess.run([sys.executable, "-c", CHECK_DEFAULT_MODEL], capture_output=True, text=True,
                            cwd=PROJECT_ROOT)
    if result.returncode == 0:
        return None
    said = [line[len(MODEL_PROBLEM):] for line in result.stderr.splitlines() if line.startswith(MODEL_PROBLEM)]
    if said:
        return said[-1]
    last = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
    return f"the model check failed: {last}"


def serving_threads(environ: MutableMapping[str, str]) -> None:
    """One TensorFlow compute thread per worker, unless TF_NUM_INTRAOP_THREADS says otherwise.

    A model call here is small (one image, or a few batched), and splitting it across cores costs more in
    hand-offs than it saves, while the worker's event loop needs a core of its own. Measured on 2 cores, 1 worker:
    POST /predict canvas c=1 p50 2.6-2.7 → 2.3 ms, /predict/batch (16 images) 7.8 → 6.7 ms, c=16 unchanged.
    Scale with --workers instead. Set before TensorFlow is imported here or in a worker (they inherit it)."""
    environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")


def at_least_one(text: str) -> int:
    """argparse type for counts: 0 or less workers would serve nothing."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"needs at least 1, not {value}")
    return value


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    if args.model_dir:
        os.environ["DIGIT_LAB_MODELS_DIR"] = str(args.model_dir)
    if args.default_model:
        os.environ["DIGIT_LAB_DEFAULT_MODEL"] = args.default_model
    if args.runtime:
        os.environ["DIGIT_LAB_RUNTIME"] = args.runtime
    serving_threads(os.environ)
    from app.config import get_settings

    try:
        settings = get_settings()
    except Exception as error:  # a bad environment variable: say which, without a traceback
        print(f"digit-lab serve: invalid setting: {error}", file=sys.stderr)
        return 2
    # Load the models before uvicorn starts: a missing or corrupt model is then one clear line and exit 1,
    # not a lifespan traceback. One worker serves this registry; several workers (or --reload) load their own.
    from app.errors import ModelLoadError
    from app.inference.registry import Registry
    from app.workers import PortUnavailable, balanced_workers_supported, run_workers

    serves_here = args.workers == 1 and not args.reload
    target: object = "app.main:create_app"
    if serves_here:
        from app.main import create_app

        others = "now" if settings.preload_all else "background"
        try:
            registry = Registry.load(settings.models_dir, settings.default_model, settings.runtime, others=others)
        except ModelLoadError as error:
            print(f"digit-lab serve: cannot start: {error}", file=sys.stderr)
            return 1
        target = create_app(settings, registry)
    else:
        # Workers load their own registry, so here the default model alone is the check (the rest cannot stop a
        # start), and in a child process: the supervisor would otherwise keep TensorFlow (~600 MB) doing nothing.
        problem = check_default_model()
        if problem:
            print(f"digit-lab serve: cannot start: {problem}", file=sys.stderr)
            return 1
    options = dict(app=target, factory=isinstance(target, str), host=args.host, port=args.port,
                   log_level=settings.log_level, access_log=settings.access_log,
                   timeout_graceful_shutdown=args.graceful_timeout)
    if args.workers > 1 and not args.reload and balanced_workers_supported():
        try:
            return run_workers(options, args.workers)  # a socket per worker (app/workers.py); no TensorFlow here
        except PortUnavailable as error:
            print(f"digit-lab serve: cannot start: {error}", file=sys.stderr)
            return 1
    uvicorn.run(**options, workers=args.workers, reload=args.reload)
    # Uvicorn has shut down cleanly: requests answered, lifespan closed. (It then re-raises SIGTERM, which ends a
    # normal process here; as a container's PID 1 that signal is ignored and we get here.) Python's own teardown
    # would now spend seconds unloading TensorFlow and can crash in its C++ threads ("terminate called without an
    # active exception", exit 139 under `docker stop`), so leave at once with success.
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def cmd_train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from app.training.data import load_mnist
    from app.training.family import SPECS, with_adam
    from app.training.train import train

    ids = list(SPECS) if args.all else args.model
    unknown = [i for i in ids if i not in SPECS]
    if unknown or not ids:
        print(f"digit-lab train: choose --all or --model from: {', '.join(SPECS)}", file=sys.stderr)
        return 2
    specs = [SPECS[i] for i in ids]
    if args.adam:
        specs = [with_adam(spec) for spec in specs if spec.kind == "mlp"]
    if args.learning_rate:  # a recipe's step size changed on purpose (the lesson's dying-ReLU run): a new id
        specs = [replace(spec, id=f"{spec.id}-lr{args.learning_rate:g}", learning_rate=args.learning_rate,
                         title=f"{spec.title} (learning rate {args.learning_rate:g})") for spec in specs]
    data = load_mnist(args.data)
    for n, spec in enumerate(specs, start=1):
        model_id = spec.id
        print(f"[{n}/{len(specs)}] training {model_id} …", file=sys.stderr)
        card = train(spec, data, args.out, epochs=args.epochs, train_limit=args.limit,
                     test_limit=args.test_limit, verbose=1 if sys.stderr.isatty() else 2)
        print(f"{model_id}: test accuracy {card.test_accuracy:.2%}, {card.training_seconds:.0f} s "
              f"→ {args.out / (model_id + '.keras')}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import keras

    from app.training import layers as _layers  # noqa: F401  (registers Maxout)
    from app.training.data import load_mnist
    from app.training.evaluate import evaluate, prepare

    path = args.model_dir / f"{args.model}.keras"
    if not path.exists():
        print(f"digit-lab evaluate: no model file {path}", file=sys.stderr)
        return 2
    data = load_mnist(args.data)
    model = keras.models.load_model(path, compile=False)
    result = evaluate(model, prepare(data.x_test[: args.limit]), data.y_test[: args.limit])
    print(f"{args.model}: {result.report()}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from app.export import export_model

    ids = sorted(p.stem for p in args.model_dir.glob("*.keras")) if args.all else args.model
    missing = [i for i in ids if not (args.model_dir / f"{i}.keras").is_file()]
    if missing or not ids:
        print(f"digit-lab export: choose --all or --model with a <id>.keras in {args.model_dir}"
              + (f" (not found: {', '.join(missing)})" if missing else ""), file=sys.stderr)
        return 2
    for model_id in ids:
        path = export_model(args.model_dir / f"{model_id}.keras")
        print(f"{model_id}: → {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    script = PROJECT_ROOT / "benchmarks" / "bench.py"
    if not script.is_file():
        print(f"digit-lab bench: {script} not found (run from a source checkout)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(PROJECT_ROOT))
    from benchmarks.bench import run

    return run(args)


def cmd_compare(args: argparse.Namespace) -> int:
    from app.training.compare import markdown_table, read_cards, text_table

    cards = read_cards(args.model_dir)
    if not cards:
        print(f"digit-lab compare: no model cards in {args.model_dir}", file=sys.stderr)
        return 2
    print(text_table(cards))
    if args.markdown:
        args.markdown.write_text(markdown_table(cards) + "\n", encoding="utf-8")
        print(f"table → {args.markdown}", file=sys.stderr)
    if args.plots:
        from app.training.plots import write_all

        for path in write_all(cards, args.plots):
            print(f"chart → {path}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digit-lab",
        description="A live handwritten-digit recogniser that shows why networks need activation functions.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the web demo and the JSON API",
                                description="Serve the drawing page on / and the API (see /docs).")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    # Port, workers and grace period default from the environment so a container can set them without a new CMD;
    # argparse converts a string default with `type`, so a bad value gets a usage error, not a traceback.
    serve.add_argument("--port", type=int, default=os.environ.get("DIGIT_LAB_PORT", "8000"),
                       help="port (default: $DIGIT_LAB_PORT or 8000)")
    serve.add_argument("--workers", type=at_least_one, default=os.environ.get("DIGIT_LAB_WORKERS", "1"),
                       help="worker processes, each with its own socket on the port "
                            "(default: $DIGIT_LAB_WORKERS or 1)")
    serve.add_argument("--model-dir", type=Path, help="directory of trained models (default: ./models)")
    serve.add_argument("--default-model", help="model used when a request names none (default: cnn)")
    serve.add_argument("--runtime", choices=["keras", "litert"], help="inference runtime (default: keras)")
    serve.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    serve.add_argument("--graceful-timeout", type=int, default=os.environ.get("DIGIT_LAB_GRACEFUL_TIMEOUT", "10"),
                       help="seconds in-flight requests get to finish after SIGTERM "
                            "(default: $DIGIT_LAB_GRACEFUL_TIMEOUT or 10)")
    serve.set_defaults(run=cmd_serve)

    train = commands.add_parser("train", help="train one model, several, or the whole family",
                                description="Train models on MNIST and write <id>.keras and <id>.json.")
    which = train.add_mutually_exclusive_group()
    which.add_argument("--model", action="append", default=[], metavar="ID", help="model id (repeatable)")
    which.add_argument("--all", action="store_true", help="every model in the family")
    train.add_argument("--data", type=Path, help=DATA_HELP)
    train.add_argument("--out", type=Path, default=PROJECT_ROOT / "models", help="output directory (default: ./models)")
    train.add_argument("--adam", action="store_true",
                       help="train the MLPs with Adam instead of plain SGD (ids <id>-adam; the contrast run)")
    train.add_argument("--epochs", type=int, help="override the recipe's epochs (smoke tests)")
    train.add_argument("--learning-rate", type=float, metavar="LR",
                       help="override the recipe's learning rate (ids <id>-lr<LR>; the lesson's dying-ReLU run)")
    train.add_argument("--limit", type=int, help="train on the first N training images only")
    train.add_argument("--test-limit", type=int, help="test on the first N test images only")
    train.set_defaults(run=cmd_train)

    evaluate = commands.add_parser("evaluate", help="accuracy of a trained model on the MNIST test set",
                                   description="Measure a model through the serving preprocessing.")
    evaluate.add_argument("--model", default="cnn", help="model id (default: %(default)s)")
    evaluate.add_argument("--model-dir", type=Path, default=PROJECT_ROOT / "models", help="default: ./models")
    evaluate.add_argument("--data", type=Path, help=DATA_HELP)
    evaluate.add_argument("--limit", type=int, help="first N test images only (default: all 10,000)")
    evaluate.set_defaults(run=cmd_evaluate)

    compare = commands.add_parser("compare", help="table (and charts) of the activation family from the cards",
                                  description="Compare trained models: accuracy, epochs to 97%, gradient ratio, "
                                              "dead or saturated units — read from the model cards.")
    compare.add_argument("--model-dir", type=Path, default=PROJECT_ROOT / "models", help="default: ./models")
    compare.add_argument("--markdown", type=Path, help="also write the table as Markdown to this file")
    compare.add_argument("--plots", type=Path, help="also draw PNG charts into this directory (needs matplotlib)")
    compare.set_defaults(run=cmd_compare)

    export = commands.add_parser("export", help="make <id>.tflite (LiteRT) from <id>.keras",
                                 description="Convert trained Keras models for the LiteRT runtime "
                                             "(DIGIT_LAB_RUNTIME=litert); training does this too.")
    which = export.add_mutually_exclusive_group()
    which.add_argument("--model", action="append", default=[], metavar="ID", help="model id (repeatable)")
    which.add_argument("--all", action="store_true", help="every <id>.keras in the model directory")
    export.add_argument("--model-dir", type=Path, default=PROJECT_ROOT / "models", help="default: ./models")
    export.set_defaults(run=cmd_export)

    bench = commands.add_parser(
        "bench", help="measure the server under load (needs wrk) and write benchmarks/RESULTS.md",
        description="Start the server (each runtime, each worker count), load it with wrk over loopback, time "
                    "start-up, memory and each in-process stage; write RESULTS.md and results.json.")
    bench.add_argument("--runtimes", nargs="+", choices=["keras", "litert"], default=["keras", "litert"],
                       help="runtimes to compare (default: both)")
    bench.add_argument("--workers", nargs="+", type=int, default=[1, 2], help="worker counts (default: 1 2)")
    bench.add_argument("--concurrency", nargs="+", type=int, default=[1, 16],
                       help="open connections per load run (default: 1 16)")
    bench.add_argument("--endpoints", nargs="+", default=["healthz", "predict_canvas", "predict_28", "predict_batch"],
                       choices=["healthz", "predict_canvas", "predict_28", "predict_batch"],
                       help="what to load (default: all four)")
    bench.add_argument("--duration", type=float, default=10.0, help="seconds per load run (default: %(default)s)")
    bench.add_argument("--max-requests", type=int, default=100_000,
                       help="requests per load run at most (default: %(default)s)")
    bench.add_argument("--calls", type=int, default=1000,
                       help="in-process calls per stage, median taken (default: %(default)s)")
    bench.add_argument("--model-dir", type=Path, default=PROJECT_ROOT / "models", help="default: ./models")
    bench.add_argument("--out", type=Path, default=PROJECT_ROOT / "benchmarks",
                       help="where RESULTS.md and results.json go (default: ./benchmarks)")
    bench.set_defaults(run=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    quiet_tensorflow()
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
