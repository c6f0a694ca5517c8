"""`digit-lab`: the one entry point — serve the demo, train and evaluate models, compare the family."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.config import PROJECT_ROOT

DATA_HELP = (
    "MNIST source: a directory of the original IDX files (*-ubyte.gz) or an .npz with "
    "x_train/y_train/x_test/y_test. Default: Keras's download (needs internet)."
)


def quiet_tensorflow() -> None:
    """TensorFlow's C++ start-up chatter hides what matters on a terminal."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    if args.model_dir:
        os.environ["DIGIT_LAB_MODELS_DIR"] = str(args.model_dir)
    if args.default_model:
        os.environ["DIGIT_LAB_DEFAULT_MODEL"] = args.default_model
    if args.runtime:
        os.environ["DIGIT_LAB_RUNTIME"] = args.runtime
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

    try:
        registry = Registry.load(settings.models_dir, settings.default_model, settings.runtime)
    except ModelLoadError as error:
        print(f"digit-lab serve: cannot start: {error}", file=sys.stderr)
        return 1
    target: object = "app.main:create_app"
    if args.workers == 1 and not args.reload:
        from app.main import create_app

        target = create_app(settings, registry)
    uvicorn.run(
        target,
        factory=isinstance(target, str),
        host=args.host,
        port=args.port,
        workers=args.workers,
        reload=args.reload,
        log_level=settings.log_level,
        timeout_graceful_shutdown=args.graceful_timeout,
    )
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from app.training.data import load_mnist
    from app.training.family import SPECS
    from app.training.train import train

    ids = list(SPECS) if args.all else args.model
    unknown = [i for i in ids if i not in SPECS]
    if unknown or not ids:
        print(f"digit-lab train: choose --all or --model from: {', '.join(SPECS)}", file=sys.stderr)
        return 2
    data = load_mnist(args.data)
    for n, model_id in enumerate(ids, start=1):
        print(f"[{n}/{len(ids)}] training {model_id} …", file=sys.stderr)
        card = train(SPECS[model_id], data, args.out, epochs=args.epochs, train_limit=args.limit,
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digit-lab",
        description="A live handwritten-digit recogniser that shows why networks need activation functions.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the web demo and the JSON API",
                                description="Serve the drawing page on / and the API (see /docs).")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default: %(default)s)")
    serve.add_argument("--model-dir", type=Path, help="directory of trained models (default: ./models)")
    serve.add_argument("--default-model", help="model used when a request names none (default: cnn)")
    serve.add_argument("--runtime", choices=["keras", "litert"], help="inference runtime (default: keras)")
    serve.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    serve.add_argument("--graceful-timeout", type=int, default=10,
                       help="seconds in-flight requests get to finish after SIGTERM (default: %(default)s)")
    serve.set_defaults(run=cmd_serve)

    train = commands.add_parser("train", help="train one model, several, or the whole family",
                                description="Train models on MNIST and write <id>.keras and <id>.json.")
    which = train.add_mutually_exclusive_group()
    which.add_argument("--model", action="append", default=[], metavar="ID", help="model id (repeatable)")
    which.add_argument("--all", action="store_true", help="every model in the family")
    train.add_argument("--data", type=Path, help=DATA_HELP)
    train.add_argument("--out", type=Path, default=PROJECT_ROOT / "models", help="output directory (default: ./models)")
    train.add_argument("--epochs", type=int, help="override the recipe's epochs (smoke tests)")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    quiet_tensorflow()
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
