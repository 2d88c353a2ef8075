"""Benchmark: the ternary digit classifier (`tritherm.apps.digits`), its accuracy beside the
float networks and its throughput on every board's SoC.

Accuracy: the shipped model's float32 twin and ternary network as recorded at training,
the integer golden model re-run on the test split, and scikit-learn's float MLP of the same
shape on the same split. Memory: the weights at five trits a byte, as int8 and as float32.
Throughput: for each distinct SoC array, the array's clock cycles for one image counted on
the Amaranth simulator (weight loads shared by a batch of 64), the images per second they
allow at the SoC's design clock, and what the serial link allows at the SoC's baud.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AccuracyRow", "bench_digits", "accuracy_rows", "throughput_rows"]


@dataclass
class AccuracyRow:
    """One classifier on the test split: accuracy and weight memory."""

    model: str
    accuracy: float
    weight_bytes: int
    note: str = ""


def accuracy_rows(network, out=print) -> list[AccuracyRow]:
    """The shipped model against its float32 twin and scikit-learn's MLP."""
    from tritherm.apps.digits import evaluate, float_baseline, load_split, memory_table
    _, _, images, labels = load_split()
    meta = network.metadata
    packed, int8, float32 = (row.bytes for row in memory_table(network))
    out("scikit-learn MLPClassifier on the same split ...")
    mlp_accuracy, mlp_bytes = float_baseline(int(meta.get("seed", 1)))
    integer = evaluate(network, images, labels).accuracy
    return [
        AccuracyRow("float32 twin (same network, same training)",
                    float(meta["float32_test_accuracy"]), float32, "recorded at training"),
        AccuracyRow("ternary weights, int8 activations (QAT model)",
                    float(meta["ternary_test_accuracy"]), packed, "recorded at training"),
        AccuracyRow("integer golden model (what the array computes)", integer, packed,
                    f"weights as int8: {int8} bytes"),
        AccuracyRow("scikit-learn MLPClassifier, float", mlp_accuracy, mlp_bytes,
                    "64-256-256-10 with biases"),
    ]


def throughput_rows(network, boards=None, out=print):
    """`tritherm.apps.digits.hardware.Throughput` for each SoC (array, clock, baud), named
    after every board that runs it."""
    import dataclasses

    from tritherm.apps.digits import load_split
    from tritherm.apps.digits.hardware import throughput
    from tritherm.boards.catalog import BOARDS
    image = load_split()[2][0]
    groups: dict = {}
    for board in boards or BOARDS.values():
        groups.setdefault((board.soc.array, board.soc.clock_hz, board.soc.baud), []).append(board)
    rows = []
    for same in groups.values():
        names = ", ".join(board.name for board in same)
        out(f"{names}: counting the array's cycles for one image ...")
        rows.append(dataclasses.replace(throughput(network, same[0], image), board=names))
    return rows


def bench_digits(out=print):
    """Print the accuracy and throughput tables; return (accuracy rows, throughput rows)."""
    from tritherm.apps.digits import load_model
    from tritherm.boards.catalog import format_table
    network = load_model()
    accuracy = accuracy_rows(network, out)
    out(format_table(("model", "test accuracy", "weight bytes", "note"),
                     [(r.model, f"{100 * r.accuracy:.2f}%", r.weight_bytes, r.note)
                      for r in accuracy]))
    rows = throughput_rows(network, out=out)
    out(format_table(("board (SoC array)", "clock", "MAC/image", "tiles", "cycles/image",
                      "array images/s", "link bytes/image", "link images/s", "images/s"),
                     [(f"{t.board} ({t.shape.lanes}x{t.shape.inputs}, K<={t.shape.capacity})",
                       f"{t.clock_hz / 1e6:g} MHz", t.macs_per_image, t.tiles_per_image,
                       t.cycles_per_image, f"{t.array_images_per_s:,.0f}",
                       f"{t.link_bytes_per_image:,.0f}", f"{t.link_images_per_s:,.1f}",
                       f"{t.images_per_s:,.1f}") for t in rows]))
    return accuracy, rows
