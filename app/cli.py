"""`digit-lab`: the one entry point — serve the demo, train and evaluate models, compare the family."""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import sys
from collections.abc import MutableMapping
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from app.assets import asset_dir, output_models_dir
from app.modeling import DEFAULT_MODEL

if TYPE_CHECKING:
    from fastapi import FastAPI

    from app.config import Settings

DATA_HELP = (
    "MNIST source: a directory of the original IDX files (*-ubyte.gz) or an .npz with "
    "x_train/y_train/x_test/y_test. Default: Keras's download (needs internet)."
)


def quiet_tensorflow() -> None:
    """TensorFlow's C++ start-up chatter hides what matters on a terminal."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def report_default_model(models_dir: Path, default: str, runtime: str, answer: Connection) -> None:
    """In the check's child process: load the default model, send back its problem (None when it loads).

    The runtimes' own start-up notices would read as part of the server's answer: the child's output is muted."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    from app.errors import ModelLoadError
    from app.inference.registry import load_default

    try:
        load_default(models_dir, default, runtime)
    except ModelLoadError as error:
        answer.send(str(error))
    else:
        answer.send(None)


def check_default_model(models_dir: Path, default: str, runtime: str) -> str | None:
    """Load the default model once in a child process; its problem, or None.

    A child, so that the supervisor of several workers never holds TensorFlow (~600 MB) it does not use. The
    answer is what the child sent, not how it exited: TensorFlow's teardown may end a process oddly."""
    spawn = multiprocessing.get_context("spawn")
    receive, send = spawn.Pipe(duplex=False)
    child = spawn.Process(target=report_default_model, args=(models_dir, default, runtime, send),
                          name="digit-lab-model-check")
    child.start()
    send.close()
    try:
        problem = receive.recv()
    except EOFError:
        problem = "the model check stopped without an answer"
    child.join()
    return problem


def serving_threads(environ: MutableMapping[str, str]) -> None:
    """One TensorFlow compute thread per worker, unless TF_NUM_INTRAOP_THREADS says otherwise.

    A model call here is small (one image, or a few batched): splitting it across cores costs more in hand-offs
    than it saves, and the worker's event loop needs a core of its own (benchmarks/RESULTS.md). Scale with
    --workers instead. Set before TensorFlow is imported here or in a worker (they inherit it)."""
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


# serve's flags (argparse's names) and the settings they override.
SERVE_FLAGS = {"host": "host", "port": "port", "workers": "workers", "graceful_timeout": "graceful_timeout",
               "model_dir": "models_dir", "default_model": "default_model", "runtime": "runtime"}


def serve_settings(args: argparse.Namespace) -> Settings:
    """The environment's settings with the flags given on the command line as overrides.

    ValueError with one line naming the variable when a setting is invalid."""
    from pydantic import ValidationError

    from app.config import Settings

    given = {flag: field for flag, field in SERVE_FLAGS.items() if getattr(args, flag) is not None}
    try:
        return Settings(**{field: getattr(args, flag) for flag, field in given.items()})
    except ValidationError as error:
        flags = {field: "--" + flag.replace("_", "-") for flag, field in given.items()}
        problems = []
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else "?"
            problems.append(f"{flags.get(field, 'DIGIT_LAB_' + field.upper())}: {item['msg']}")
        raise ValueError("; ".join(problems)) from None


def build_app(settings: Settings) -> FastAPI:
    """A worker's app (the workers are spawned: this is what they call, with the supervisor's settings)."""
    from app.main import create_app

    return create_app(settings)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    try:
        settings = serve_settings(args)
    except ValueError as error:
        print(f"digit-lab serve: invalid setting {error}", file=sys.stderr)
        return 2
    serving_threads(os.environ)
    from app.connections import server_options
    from app.errors import ModelLoadError
    from app.inference.registry import Registry
    from app.workers import PortUnavailable, reuse_port_supported, run_workers

    options = dict(host=settings.host, port=settings.port, log_level=settings.log_level,
                   access_log=settings.access_log, timeout_graceful_shutdown=settings.graceful_timeout,
                   **server_options(settings))
    if settings.workers > 1:
        if not reuse_port_supported():
            print("digit-lab serve: cannot start: --workers above 1 needs SO_REUSEPORT (Linux, macOS); run one "
                  "process per port behind a proxy instead", file=sys.stderr)
            return 2
        # Each worker loads its own models, so here the default model alone is checked (the rest cannot stop a
        # start): a bad one is then one line here, not a traceback from every worker.
        problem = check_default_model(settings.models_dir, settings.default_model, settings.runtime)
        if problem:
            print(f"digit-lab serve: cannot start: {problem}", file=sys.stderr)
            return 1
        try:  # a socket per worker (app/workers.py); each builds its app from these settings
            return run_workers({**options, "app": functools.partial(build_app, settings), "factory": True},
                               settings.workers)
        except PortUnavailable as error:
            print(f"digit-lab serve: cannot start: {error}", file=sys.stderr)
            return 1
    # Load the models before uvicorn starts: a missing or corrupt model is then one clear line and exit 1,
    # not a lifespan traceback.
    try:
        registry = Registry.load(settings.models_dir, settings.default_model, settings.runtime,
                                 background=not settings.preload_all)
    except ModelLoadError as error:
        print(f"digit-lab serve: cannot start: {error}", file=sys.stderr)
        return 1
    from app.main import create_app

    uvicorn.run(create_app(settings, registry), **options)
    # Uvicorn has shut down cleanly: requests answered, lifespan closed. (It then re-raises SIGTERM, which ends a
    # normal process here; as a container's PID 1 that signal is ignored and we get here.) Python's own teardown
    # would now spend seconds unloading TensorFlow and can crash in its C++ threads ("terminate called without an
    # active exception", exit 139 under `docker stop`), so leave at once with success.
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def read_mnist(command: str, source: Path | None):  # -> Mnist | None
    """MNIST for a command, or None after one line that says why it cannot be read (no traceback)."""
    from app.training.data import load_mnist

    try:
        return load_mnist(source)
    except (OSError, ValueError) as error:
        print(f"digit-lab {command}: cannot read MNIST from {source or 'the Keras download'}: {error}",
              file=sys.stderr)
        return None


def cmd_train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from app.modeling.family import SPECS, with_adam
    from app.training.train import train

    if args.touching or args.pairs:
        return train_number_models(args)
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
    data = read_mnist("train", args.data)
    if data is None:
        return 2
    for n, spec in enumerate(specs, start=1):
        model_id = spec.id
        print(f"[{n}/{len(specs)}] training {model_id} …", file=sys.stderr)
        card = train(spec, data, args.out, epochs=args.epochs, train_limit=args.limit,
                     test_limit=args.test_limit, verbose=1 if sys.stderr.isatty() else 2, pen_data=args.pen)
        print(f"{model_id}: test accuracy {card.test_accuracy:.2%}, {card.training_seconds:.0f} s "
              f"→ {args.out / (model_id + '.keras')}")
    return 0


def train_number_models(args: argparse.Namespace) -> int:
    """The touching-pair detector (--touching) or the pair reader (--pairs): number reading's own small models."""
    from app.pairs import PAIRS_FILE
    from app.touching import TOUCHING_FILE
    from app.training.pairs import train_pair_reader
    from app.training.pen import load_pen_digits
    from app.training.touching import train_detector

    which = "--touching" if args.touching else "--pairs"
    if args.pen is None:
        print(f"digit-lab train: {which} needs --pen (the pen-digit strokes)", file=sys.stderr)
        return 2
    data = read_mnist("train", args.data)
    if data is None:
        return 2
    digits = load_pen_digits(args.pen)
    if args.touching:
        print("drawing the training writers' single digits and touching pairs (a few minutes) …", file=sys.stderr)
        print(train_detector(digits, data.x_train, args.out / TOUCHING_FILE))
    else:
        print("drawing the training writers' touching pairs (a few minutes) …", file=sys.stderr)
        print(train_pair_reader(digits, data.x_train, data.y_train, args.out / PAIRS_FILE))
    return 0


def cmd_evaluate_numbers(args: argparse.Namespace) -> int:
    """Whole numbers by the held-out pen writers, through the server's own segmentation and model runtime."""
    import numpy as np

    from app.inference.keras_runtime import KerasRuntime
    from app.pairs import PAIRS_FILE, load_pair_reader
    from app.touching import TOUCHING_FILE, load_detector
    from app.training.numbers_eval import evaluate_numbers, number_cases
    from app.training.pen import load_pen_digits

    paths = [args.model_dir / f"{model_id}.keras" for model_id in args.model]
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        print(f"digit-lab evaluate: no model file {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.pen is None:
        print("digit-lab evaluate: --numbers needs --pen (the pen-digit strokes)", file=sys.stderr)
        return 2
    digits = load_pen_digits(args.pen)
    cases = number_cases(digits, args.per_writer, args.touching_per_writer, seed=args.seed)
    detector = None if args.no_detector else load_detector(args.model_dir)
    pairs = None if args.no_detector or args.no_pairs else load_pair_reader(args.model_dir)
    print(f"touching-pair detector: {'none' if detector is None else args.model_dir / TOUCHING_FILE}; "
          f"pair reader: {'none' if pairs is None else args.model_dir / PAIRS_FILE}")
    for model_id, path in zip(args.model, paths, strict=True):
        runtime = KerasRuntime(path)
        result = evaluate_numbers(lambda batch, r=runtime: r.predict(batch[..., np.newaxis]), digits, cases,
                                  detector=detector, pairs=pairs)
        print(f"{model_id}: {result.report()}")
    sys.stdout.flush()
    os._exit(0)  # TensorFlow's teardown can abort at exit, after the answer is out


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.numbers:
        return cmd_evaluate_numbers(args)
    import keras

    from app.modeling import layers as _layers  # noqa: F401  (registers Maxout)
    from app.training.evaluate import evaluate, prepare

    paths = [args.model_dir / f"{model_id}.keras" for model_id in args.model]
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        print(f"digit-lab evaluate: no model file {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.verdict and not args.pen:
        print("digit-lab evaluate: --verdict needs --pen (the held-out writers are its real digits)", file=sys.stderr)
        return 2
    models = {model_id: keras.models.load_model(path, compile=False) for model_id, path in zip(args.model, paths)}
    if args.pen:
        return evaluate_pen_cli(args, models)
    data = read_mnist("evaluate", args.data)
    if data is None:
        return 2
    inputs = prepare(data.x_test[: args.limit])
    for model_id, model in models.items():
        print(f"{model_id}: {evaluate(model, inputs, data.y_test[: args.limit]).report()}")
    return 0


def evaluate_pen_cli(args: argparse.Namespace, models: dict) -> int:
    """`evaluate --pen`: the held-out writers drawn as the page draws them (once, for every model); with
    --verdict, the non-digit kinds training never saw."""
    import numpy as np

    from app.modeling.card import ModelCard, PenRecord
    from app.training.calibrate import expected_calibration_error
    from app.training.evaluate import evaluate_pen, montage, pen_cases, prepare, prepare_pen
    from app.training.pen import load_pen_digits, writers_split

    try:
        _, _, held_out = writers_split(load_pen_digits(args.pen))
    except (OSError, ValueError) as error:
        print(f"digit-lab evaluate: cannot read pen digits: {error}", file=sys.stderr)
        return 2
    held_out = held_out[: args.limit]
    print(f"drawing {len(held_out):,} held-out pen digits at 4 sizes, both polarities …", file=sys.stderr)
    cases = pen_cases(held_out)
    prepared = cases, prepare_pen(held_out, cases, progress=True)
    for model_id, model in models.items():
        def predict(images, model=model):
            return model.predict(images, batch_size=1000, verbose=0)

        result = evaluate_pen(predict, held_out, prepared=prepared)
        ece = expected_calibration_error(result.probabilities, result.labels)
        print(f"{model_id}: {result.report()}\nexpected calibration error (15 bins): {ece:.2%}")
        if args.montage:
            where = args.montage if len(models) == 1 else args.montage.with_stem(f"{args.montage.stem}-{model_id}")
            print(f"worst 30 drawings → {montage(result, held_out, where)}", file=sys.stderr)
        card_path = args.model_dir / f"{model_id}.json"
        if args.record:
            card = ModelCard.read(card_path)
            card.pen = PenRecord(
                accuracy=round(result.accuracy, 6),
                by_size={f"{s:.0%}": round(a, 6) for s, a in result.by_size().items()},
                per_class_accuracy=[round(a, 6) for a in result.accuracy_by(result.labels).values()],
                writers=sorted({int(w) for w in result.writers}), drawings=len(result.labels), ece=round(ece, 6))
            if card.calibration is not None:  # the same drawings before calibration: softmax(T · log p)
                from app.training.calibrate import softmax

                before = softmax(card.calibration.temperature * np.log(np.maximum(result.probabilities, 1e-12)))
                card.calibration.ece_before["held_out_writers"] = expected_calibration_error(before, result.labels)
                card.calibration.ece_after["held_out_writers"] = ece
            card.write(card_path)
            print(f"pen figures → {card_path}", file=sys.stderr)
        if args.verdict:
            from app.training.verdict_eval import non_digit_sets, report

            data = read_mnist("evaluate", args.data) if args.data is not None else None
            digits = {"held-out pen writers": prepare_pen_inputs(held_out)}
            if data is not None:
                digits["MNIST test"] = (prepare(data.x_test[: args.limit])[..., 0], data.y_test[: args.limit])
            print(report(predict, ModelCard.read(card_path).verdict, digits, non_digit_sets()))
    return 0


def prepare_pen_inputs(digits) -> tuple:
    """Each held-out digit once, at a mid size and a random position: (images (n,28,28), labels)."""
    import numpy as np

    from app.training.evaluate import pen_cases, prepare_pen

    cases = [case for case in pen_cases(digits, sizes=(0.5,)) if not case.invert]
    return prepare_pen(digits, cases)[..., 0], np.array([digits[case.index].label for case in cases])


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
    from app.benchmark.bench import run

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
        from importlib.util import find_spec

        from app.training.plots import write_all

        if find_spec("matplotlib") is None:
            print("digit-lab compare: --plots needs matplotlib: pip install 'digit-lab[lab]'", file=sys.stderr)
            return 2
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
    # Every serve flag defaults to None: an unset flag leaves the setting to DIGIT_LAB_<NAME> or its default.
    serve.add_argument("--host", help="interface to bind (default: $DIGIT_LAB_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: $DIGIT_LAB_PORT or 8000)")
    serve.add_argument("--workers", type=at_least_one,
                       help="worker processes, each with its own socket on the port (default: $DIGIT_LAB_WORKERS or 1)")
    serve.add_argument("--model-dir", type=Path,
                       help="directory of trained models (default: $DIGIT_LAB_MODELS_DIR or the shipped models)")
    serve.add_argument("--default-model",
                       help="model used when a request names none "
                            f"(default: $DIGIT_LAB_DEFAULT_MODEL or {DEFAULT_MODEL})")
    serve.add_argument("--runtime", choices=["keras", "litert"],
                       help="inference runtime (default: $DIGIT_LAB_RUNTIME or keras)")
    serve.add_argument("--graceful-timeout", type=int,
                       help="seconds in-flight requests get to finish after SIGTERM "
                            "(default: $DIGIT_LAB_GRACEFUL_TIMEOUT or 10)")
    serve.set_defaults(run=cmd_serve)

    train = commands.add_parser("train", help="train one model, several, or the whole family",
                                description="Train models on MNIST and write <id>.keras and <id>.json.")
    which = train.add_mutually_exclusive_group()
    which.add_argument("--model", action="append", default=[], metavar="ID", help="model id (repeatable)")
    which.add_argument("--all", action="store_true", help="every model in the family")
    which.add_argument("--touching", action="store_true",
                       help="the touching-pair detector that number reading uses (needs --pen; writes "
                            "touching.npz): one digit or two that touch, learned from the training writers "
                            "and MNIST")
    which.add_argument("--pairs", action="store_true",
                       help="the pair reader that number reading uses to choose where to cut touching digits "
                            "(needs --pen; writes pairs.npz): a joined group read as its first and second digit")
    train.add_argument("--data", type=Path, help=DATA_HELP)
    train.add_argument("--pen", type=Path, metavar="PATH",
                       help="real pen digits (the UCI pen-digit strokes file or its directory): the default CNN "
                            "trains on its training writers too; the held-out writers are never read")
    train.add_argument("--out", type=Path, default=output_models_dir(),
                       help="output directory (default: the checkout's models/, or ./models when installed)")
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
    evaluate.add_argument("--model", nargs="+", default=[DEFAULT_MODEL], metavar="ID",
                          help="model ids (default: %(default)s)")
    evaluate.add_argument("--model-dir", type=Path, default=asset_dir("models"), help="default: the shipped models")
    evaluate.add_argument("--data", type=Path, help=DATA_HELP)
    evaluate.add_argument("--limit", type=int, help="first N test images (or held-out pen digits) only")
    evaluate.add_argument("--pen", type=Path, metavar="PATH",
                          help="evaluate on the held-out writers of the pen-digit strokes (file or directory) "
                               "instead: each digit drawn as the page draws it at 25/40/60/85%% of the pad, "
                               "off-centre, both polarities; accuracy per size, digit and writer, confusion")
    evaluate.add_argument("--montage", type=Path, metavar="PNG", help="with --pen: the worst 30 drawings as a PNG")
    evaluate.add_argument("--record", action="store_true", help="with --pen: write the figures into the model card")
    evaluate.add_argument("--verdict", action="store_true",
                          help="with --pen (and --data for MNIST's test set): how the verdict separates real digits "
                               "from non-digit kinds training never saw (pen-drawn letters and symbols, animals)")
    evaluate.add_argument("--numbers", action="store_true",
                          help="with --pen: read whole numbers (2-5 digits, and touching pairs) written by the "
                               "held-out pen writers, as POST /predict/number does")
    evaluate.add_argument("--per-writer", type=int, default=250,
                          help="--numbers: separated numbers per held-out writer (default: %(default)s)")
    evaluate.add_argument("--touching-per-writer", type=int, default=125,
                          help="--numbers: touching pairs per held-out writer (default: %(default)s)")
    evaluate.add_argument("--seed", type=int, default=0, help="--numbers: the cases' seed (default: %(default)s)")
    evaluate.add_argument("--no-detector", action="store_true",
                          help="--numbers: split touching digits by the rules alone, without models/touching.npz "
                               "and models/pairs.npz")
    evaluate.add_argument("--no-pairs", action="store_true",
                          help="--numbers: choose where to cut touching digits without models/pairs.npz")
    evaluate.set_defaults(run=cmd_evaluate)

    compare = commands.add_parser("compare", help="table (and charts) of the activation family from the cards",
                                  description="Compare trained models: accuracy, epochs to 97%, gradient ratio, "
                                              "dead or saturated units — read from the model cards.")
    compare.add_argument("--model-dir", type=Path, default=asset_dir("models"), help="default: the shipped models")
    compare.add_argument("--markdown", type=Path, help="also write the table as Markdown to this file")
    compare.add_argument("--plots", type=Path, help="also draw PNG charts into this directory (needs matplotlib)")
    compare.set_defaults(run=cmd_compare)

    export = commands.add_parser("export", help="make <id>.tflite (LiteRT) from <id>.keras",
                                 description="Convert trained Keras models for the LiteRT runtime "
                                             "(DIGIT_LAB_RUNTIME=litert); training does this too.")
    which = export.add_mutually_exclusive_group()
    which.add_argument("--model", action="append", default=[], metavar="ID", help="model id (repeatable)")
    which.add_argument("--all", action="store_true", help="every <id>.keras in the model directory")
    export.add_argument("--model-dir", type=Path, default=output_models_dir(),
                        help="default: the checkout's models/, or ./models when installed")
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
                       choices=["healthz", "predict_canvas", "predict_28", "predict_batch", "predict_number"],
                       help="what to load (default: all but predict_number, a 4-digit number)")
    bench.add_argument("--duration", type=float, default=10.0, help="seconds per load run (default: %(default)s)")
    bench.add_argument("--max-requests", type=int, default=100_000,
                       help="requests per load run at most (default: %(default)s)")
    bench.add_argument("--calls", type=int, default=1000,
                       help="in-process calls per stage, median taken (default: %(default)s)")
    bench.add_argument("--model-dir", type=Path, default=asset_dir("models"), help="default: the shipped models")
    bench.add_argument("--out", type=Path, default=Path("benchmarks"),
                       help="where RESULTS.md and results.json go (default: ./benchmarks)")
    bench.set_defaults(run=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    quiet_tensorflow()
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
