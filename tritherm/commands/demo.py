"""``tritherm demo`` (``make demo``): the ternary array from a float layer to bitstreams.

1. Quantise a random float layer BitNet-style and compare it with the float layer.
2. Pack the weights five to a byte and show the memory saved.
3. Run the integer product through the simulated array on the Amaranth simulator, Icarus
   Verilog and Verilator, each compared word for word with the golden model.
4. Noise without an LFSR: Random123's known answer, an 8-cell Threefry noise source on
   the Amaranth simulator against the golden model, and its statistics on 10^5 samples.
5. The ternary digit classifier (`tritherm.apps.digits`): its accuracy on the test split,
   a confusion-matrix PNG, and a few test digits through the array on Verilator, every
   logit equal to the golden integer model.
6. Build the ternary and noise self-test bitstreams for the iCEBreaker and the ULX3S-85F
   and print their resource and timing tables.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

__all__ = ["run_demo", "register"]


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def run_demo(build: bool = True, seed: int = 2402) -> int:
    from tritherm.formats import TernaryArrayShape
    from tritherm.sim import golden
    from tritherm.sim.verify.ternary_driver import run_matrix

    rng = np.random.default_rng(seed)
    n, k, batch = 24, 200, 3
    _step(f"BitLinear: a {n}x{k} float layer, {batch} tokens (seed {seed})")
    weights = rng.normal(0.0, 0.02, size=(n, k))
    tokens = rng.normal(0.0, 1.0, size=(batch, k))
    wq, w_scale = golden.quantize_weights(weights)
    xq, s_x = golden.quantize_activations(tokens)
    exact = golden.float_linear(tokens, weights)
    approx = golden.bitlinear_forward(tokens, weights)
    error = np.linalg.norm(approx - exact) / np.linalg.norm(exact)
    print(f"weights -> {{-1,0,+1}} with scale mean|W| = {w_scale:.5f}; "
          f"{np.mean(wq == 0):.0%} zeros")
    print(f"relative error of the ternary layer against the float layer: {error:.3f}")

    packed = golden.pack_base3(wq)
    print(f"weights packed: {len(packed)} bytes base-3 (1.6 bits/weight) vs {wq.size} bytes "
          f"int8 and {2 * wq.size} bytes fp16 ({2 * wq.size / len(packed):.1f}x smaller)")
    assert np.array_equal(golden.unpack_base3(packed, wq.size).reshape(wq.shape), wq)

    shape = TernaryArrayShape(lanes=8, inputs=10, max_k=80)
    failures = 0
    for simulator in ("amaranth", "icarus", "verilator"):
        _step(f"the array {shape} on {simulator}: W {wq.shape} x {batch} tokens")
        start = time.perf_counter()
        run = run_matrix(wq, xq, shape, simulator)
        seconds = time.perf_counter() - start
        verdict = "PASS" if run.mismatch is None else f"FAIL: {run.mismatch}"
        print(f"{run.tiles} tiles, {run.result.size} outputs in {seconds:.1f} s: {verdict}")
        failures += run.mismatch is not None
    y = golden.dequantize(run.result, w_scale, s_x)
    print(f"dequantised hardware output equals bitlinear_forward: "
          f"{np.allclose(y, approx, rtol=0, atol=0)}")

    failures += _noise_demo(seed)
    failures += _digits_demo(seed)

    if build:
        from tritherm.boards.build import build_noise_selftest, build_selftest
        for board in ("icebreaker", "ulx3s-85f"):
            _step(f"ternary self-test bitstream for {board}")
            failures += not build_selftest(board).timing_met
            _step(f"noise self-test bitstream for {board} (ring-oscillator seeded)")
            failures += not build_noise_selftest(board).timing_met
    print("\ndemo finished:", "all checks passed" if not failures else f"{failures} failures")
    return 0 if not failures else 1


def _digits_demo(seed: int, count: int = 8, plot: str = "digits-confusion.png") -> int:
    """The shipped ternary classifier: the test split on the golden integer model, then a
    few test digits through the simulated array on Verilator, every logit compared."""
    from tritherm.apps.digits import (confusion_matrix, evaluate, load_model, load_split,
                                      plot_confusion)
    from tritherm.apps.digits.hardware import rtl_backend

    network = load_model()
    _, _, images, labels = load_split()
    _step(f"ternary digit classifier (tritherm apps digits): the {len(images)} test digits "
          f"on the golden integer model")
    golden = evaluate(network, images, labels)
    print(f"accuracy {100 * golden.accuracy:.2f}% with ternary weights and int8 activations "
          f"(the same network in float32: "
          f"{100 * network.metadata['float32_test_accuracy']:.2f}%)")
    plot_confusion(Path(plot), confusion_matrix(labels, golden.predictions), images, labels,
                   golden.predictions, title=f"{len(images)} test digits, golden integer model")
    print(f"confusion matrix and misclassified digits: {plot}")
    chosen = np.random.default_rng(seed).choice(len(images), count, replace=False)
    backend = rtl_backend("verilator")
    _step(f"{count} test digits (seed {seed}) through {backend.description}")
    logits = network.forward(images[chosen], backend.matmul)
    same = np.array_equal(logits, golden.logits[chosen])
    print(f"predicted {np.argmax(logits, axis=1).tolist()}, true {labels[chosen].tolist()}; "
          f"{backend.tiles} array tiles in {backend.seconds:.1f} s: "
          + ("PASS, every logit equals the golden integer model" if same else "FAIL"))
    return int(not same)


def _noise_demo(seed: int, steps: int = 300) -> int:
    """The noise source in simulation against its golden model; returns the failures."""
    from amaranth.sim import Simulator

    from tritherm.commands import noise_test
    from tritherm.hdl.noise import NoiseSource
    from tritherm.sim.golden import threefry2x32
    from tritherm.sim.verify.cycle import AmaranthIO
    from tritherm.sim.verify.noise_vectors import (
        collect_noise,
        decode_samples,
        expected_noise,
    )

    _step("Threefry-2x32, 20 rounds, counter 0:0 under key 0:0 (Random123 says 6b200159 99ba4efe)")
    out0, out1 = threefry2x32(np.uint32(0), np.uint32(0), np.uint32(0), np.uint32(0))
    print(f"golden model: {int(out0):08x} {int(out1):08x}")
    failures = (int(out0), int(out1)) != (0x6B200159, 0x99BA4EFE)

    _step(f"8-cell noise source (ICDF shaper) on the Amaranth simulator, {steps} steps")
    dut = NoiseSource(streams=8, shaper="icdf")
    words = []

    async def bench(ctx):
        words.extend(await collect_noise(AmaranthIO(ctx, dut), seed, steps))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    same = np.array_equal(decode_samples(words, 8), expected_noise(seed, 8, steps, "icdf"))
    print(f"{steps * 8} samples: {'PASS, equal to the golden model' if same else 'FAIL'}")
    failures += not same

    _step("statistics on 10^5 samples per source (tritherm noise-test --gaussian)")
    noise_test.gaussian_battery_report(seed, 100_000, streams=8, rounds=20)
    return failures


def register(sub) -> None:
    """Add the command's parser to `sub`."""
    p = sub.add_parser("demo", help="the main job: simulate against the golden model, build")
    p.add_argument("--no-build", action="store_true", help="skip the bitstream builds")
    p.set_defaults(func=lambda args: run_demo(build=not args.no_build))
