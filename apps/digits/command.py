"""``tritherm apps digits train|eval``: the ternary digit classifier from the command line."""

from __future__ import annotations

import sys
import time

import numpy as np

from tritherm.commands._device import check_backend_options, open_device
from tritherm.commands._files import load_int_array
from tritherm.commands._output import add_json_option, print_json, table
from tritherm.commands._values import parse_count, parse_seed
from tritherm.errors import EXIT_CHECK_FAILED, EXIT_OK, UserError
from tritherm.files import output_path

from .hardware import BACKENDS, SIMULATORS

__all__ = ["register"]

#: Where `train` writes when --out is not given (the shipped model stays as it is).
DEFAULT_OUT = "digits-model.npz"


def register(sub) -> None:
    """Add ``digits`` with its ``train`` and ``eval`` subcommands."""
    p = sub.add_parser("digits", help="a BitNet-style ternary classifier of 8 x 8 digits, "
                                      "every matrix product on the ternary array")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    q = actions.add_parser("train", help="train the float32 and the ternary network (numpy), "
                                         "export the ternary one")
    q.add_argument("--seed", default="1", help="training seed (default 1)")
    q.add_argument("--epochs", help="epochs of each training (default 200)")
    q.add_argument("--out", default=DEFAULT_OUT,
                   help=f"the model file to write (.npz, default {DEFAULT_OUT})")
    q.set_defaults(func=_train)

    q = actions.add_parser("eval", help="classify digits on golden, rtl or board; the logits "
                                        "compared with the golden integer model")
    q.add_argument("--model", help="a model .npz (default: the shipped model)")
    q.add_argument("--backend", choices=BACKENDS, default="golden")
    q.add_argument("--simulator", choices=SIMULATORS,
                   help="with --backend rtl: the simulator (default verilator)")
    q.add_argument("--port", help="with --backend board: the serial port, or sim")
    q.add_argument("--board", help="with --backend board: check the device against this "
                                   "board's SoC (and simulate it with --port sim)")
    q.add_argument("--images", help="(n, 64) .npy of grey levels 0..16 (default: the test "
                                    "split)")
    q.add_argument("--labels", help="(n,) .npy of digits 0..9 for --images")
    q.add_argument("--limit", help="only the first N images")
    q.add_argument("--plot", help="PNG of the confusion matrix and the misclassified digits")
    add_json_option(q)
    q.set_defaults(func=_eval)


def _progress(report) -> None:
    print(f"{report.model:>8} epoch {report.epoch:3d}/{report.epochs}: loss {report.loss:.4f}, "
          f"test accuracy {100 * report.test_accuracy:.2f}%", flush=True)


def _train(args) -> int:
    from .pipeline import EPOCHS, train_and_save, train_command
    seed = parse_seed(args.seed)
    epochs = parse_count(args.epochs, "epochs") if args.epochs is not None else EPOCHS
    if epochs > 100_000:
        raise UserError(f"--epochs must be at most 100000, got {epochs}")
    out = output_path(args.out, "--out model file", (".npz",))
    command = train_command(seed, epochs) + ("" if args.out == DEFAULT_OUT
                                             else f" --out {args.out}")
    result = train_and_save(seed, epochs, out, progress=_progress, command=command)
    print(f"float32 network: {100 * result.float32_accuracy:.2f}% on the test split; "
          f"ternary weights, int8 activations: {100 * result.ternary_accuracy:.2f}% "
          f"(integer golden model: {100 * result.integer_accuracy:.2f}%)")
    print(f"model written to {result.path} ({result.seconds:.0f} s)")
    return EXIT_OK


def _inputs(args):
    """The images and labels to classify: --images/--labels or the test split."""
    from .data import check_images, check_labels, load_split
    if args.labels is not None and args.images is None:
        raise UserError("--labels goes with --images (the test split has its own labels)")
    if args.images is None:
        _, _, images, labels = load_split()
    else:
        images = check_images(load_int_array(args.images, "--images"), "--images")
        labels = None
        if args.labels is not None:
            labels = check_labels(load_int_array(args.labels, "--labels"), len(images),
                                  "--labels")
    if args.limit is not None:
        limit = parse_count(args.limit, "limit")
        images = images[:limit]
        labels = None if labels is None else labels[:limit]
    return images, labels


def _eval(args) -> int:
    from .integer import load_model
    from .report import confusion_matrix
    check_backend_options(args)
    plot = output_path(args.plot, "--plot file", (".png",)) if args.plot is not None else None
    network = load_model(args.model)
    images, labels = _inputs(args)
    golden = network.forward(images)
    say = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else print
    if args.backend == "board":
        with open_device(args) as device:
            from .hardware import board_backend
            backend = board_backend(device)
            logits, seconds = _run(network, images, backend, say)
    else:
        from .hardware import golden_backend, rtl_backend
        backend = (golden_backend() if args.backend == "golden"
                   else rtl_backend(args.simulator or "verilator"))
        logits, seconds = _run(network, images, backend, say)
    predictions = np.argmax(logits, axis=1)
    same = logits == golden
    agreement = float(same.mean())
    accuracy = None if labels is None else float(np.mean(predictions == labels))
    if plot is not None:
        from .report import plot_confusion
        truth = labels if labels is not None else np.argmax(golden, axis=1)
        plot_confusion(plot, confusion_matrix(truth, predictions), images, truth, predictions,
                       title=f"{len(images)} digits on {args.backend}"
                             + ("" if labels is not None else " (against golden predictions)"))
    rate = len(images) / seconds if seconds > 0 else float("inf")
    if args.json:
        print_json({"accuracy": accuracy, "agreement": agreement, "images": len(images),
                    "images_per_second": rate, "predictions": predictions.tolist()})
    else:
        _report(args, backend, images, labels, predictions, agreement, rate, seconds, plot)
    if not same.all():
        i, j = (int(v) for v in np.argwhere(~same)[0])
        print(f"tritherm: FAIL: image {i} logit {j}: {args.backend} gave {logits[i, j]}, the "
              f"golden integer model {golden[i, j]} ({int((~same).sum())} of {same.size} "
              f"logits differ).", file=sys.stderr)
        return EXIT_CHECK_FAILED
    return EXIT_OK


def _run(network, images, backend, say):
    say(f"classifying {len(images)} images on {backend.description}")
    start = time.monotonic()
    logits = network.forward(images, backend.matmul)
    return logits, time.monotonic() - start


def _report(args, backend, images, labels, predictions, agreement, rate, seconds, plot):
    from .report import confusion_matrix
    if labels is not None:
        print(f"accuracy: {100 * np.mean(predictions == labels):.2f}% "
              f"({int(np.sum(predictions == labels))} of {len(images)})")
    print(f"logits equal to the golden integer model: {100 * agreement:.2f}% "
          f"(every logit of every image compared)")
    print(f"{len(images)} images in {seconds:.2f} s on {args.backend}: {rate:.1f} images/s"
          + (f" ({backend.tiles} array tiles)" if backend.tiles else ""))
    if labels is not None:
        confusion = confusion_matrix(labels, predictions)
        print("confusion matrix (rows: true digit, columns: predicted):")
        print(table(("", *map(str, range(10))),
                    [(str(d), *map(str, confusion[d])) for d in range(10)]))
    if plot is not None:
        print(f"confusion matrix and misclassified digits written to {plot}")
