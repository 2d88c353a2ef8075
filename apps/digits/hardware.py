"""The classifier's matrix products on the three backends, and its throughput on each SoC.

Every backend is a ``matmul(weights_nk, activations_bk) -> (B, N)`` for
`IntegerNetwork.forward`: the integer schedule (requantisation, ReLU, argmax) stays on the
host in integers, and only the ternary products move:

- ``golden``: `tritherm.sim.golden.ternary_matmul`, the reference;
- ``rtl``: the `TernaryArray` on Verilator or Icarus (`tritherm.sim.verify.ternary_driver`),
  each layer tiled over lanes and K as ``tritherm sim ternary`` does, all images of a batch
  through one simulator run per layer;
- ``board``: the SoC's array through `tritherm.firmware.Device` (a board, or ``--port sim``).
  The SoC's weight memory holds one tile (lanes x K-capacity weights), so the weights go
  tile by tile: each tile's weights are loaded once per batch and every image of the batch
  runs through it (`link_bytes` says what that costs on the serial link).

`throughput` counts the array's cycles for one image on the RTL (Amaranth simulator) at a
SoC's array shape and turns them, with the bytes the protocol moves, into images per second
at the SoC's design clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from tritherm.sim.golden import ternary_matmul

from tritherm.errors import UserError
from tritherm.formats import TernaryArrayShape

from .integer import IntegerNetwork

__all__ = ["BACKENDS", "SIMULATORS", "RTL_SHAPE", "ArrayBackend", "golden_backend",
           "rtl_backend", "board_backend", "Throughput", "throughput", "link_bytes"]

BACKENDS = ("golden", "rtl", "board")
SIMULATORS = ("verilator", "icarus")
#: The array the rtl backend simulates: the ULX3S-85F SoC's (16 lanes x 10 inputs, K <= 200).
RTL_SHAPE = TernaryArrayShape(lanes=16, inputs=10, max_k=200)


@dataclass
class ArrayBackend:
    """A backend's ``matmul`` and what it has done: products, tiles run, seconds."""

    name: str
    description: str
    run: object                           # (weights, activations) -> (B, N) int64
    products: int = 0
    tiles: int = 0
    seconds: float = 0.0
    mismatches: list = field(default_factory=list)

    def matmul(self, weights, activations) -> np.ndarray:
        start = time.monotonic()
        result = np.asarray(self.run(weights, activations), dtype=np.int64)
        self.seconds += time.monotonic() - start
        self.products += 1
        return result


def golden_backend() -> ArrayBackend:
    """Exact integer products in numpy."""
    return ArrayBackend("golden", "the golden model (numpy)", ternary_matmul)


def rtl_backend(simulator: str = "verilator", shape: TernaryArrayShape = RTL_SHAPE
                ) -> ArrayBackend:
    """The ternary array on `simulator` (one build per shape, cached)."""
    from tritherm.sim.verify.ternary_driver import plan_tiles, run_matrix
    if simulator not in SIMULATORS:
        raise UserError(f"--simulator must be one of {', '.join(SIMULATORS)}, got {simulator!r}")
    backend = ArrayBackend("rtl", f"the array ({shape.lanes} x {shape.inputs}, K <= "
                                  f"{shape.capacity}) on {simulator}", None)

    def run(weights, activations):
        result = run_matrix(weights, activations, shape, simulator)
        backend.tiles += len(plan_tiles(shape, *weights.shape))
        return result.result
    backend.run = run
    return backend


def board_backend(device) -> ArrayBackend:
    """The array of the SoC behind `device` (`tritherm.firmware.Device`)."""
    from tritherm.sim.verify.ternary_driver import plan_tiles
    shape = device.identity.array
    backend = ArrayBackend("board", f"the SoC's array ({shape.lanes} x {shape.inputs}, K <= "
                                    f"{shape.capacity}) on {device.transport.description}",
                           None)

    def run(weights, activations):
        backend.tiles += len(plan_tiles(shape, *weights.shape))
        return device.matmul(weights, activations).result
    backend.run = run
    return backend


def link_bytes(network: IntegerNetwork, shape: TernaryArrayShape, batch: int = 1) -> dict:
    """Bytes on the serial link for `batch` images through the SoC protocol, tile by tile:
    ``weights`` (LOAD_WEIGHTS frames and their answers, once per tile) and ``per_image``
    (a MATVEC frame and its answer per tile)."""
    from tritherm.firmware.protocol import (
        Op,
        Status,
        encode_frame,
        max_weight_bytes,
        pack_load_weights,
        pack_matvec,
        response,
    )
    from tritherm.sim.golden import array_weight_image
    from tritherm.sim.verify.ternary_driver import plan_tiles
    weights = per_image = 0
    for layer in network.layers:
        for tile in plan_tiles(shape, *layer.weights.shape):
            k = tile.k1 - tile.k0
            image = array_weight_image(shape, layer.weights[tile.n0:tile.n1, tile.k0:tile.k1])
            data = image[:-(-k // shape.inputs)].tobytes()
            for offset in range(0, len(data), max_weight_bytes()):
                chunk = data[offset:offset + max_weight_bytes()]
                weights += len(encode_frame(Op.LOAD_WEIGHTS, pack_load_weights(offset, chunk)))
                weights += len(encode_frame(response(Op.LOAD_WEIGHTS), bytes([Status.OK])))
            per_image += len(encode_frame(Op.MATVEC, pack_matvec(np.zeros(k, dtype=int))))
            per_image += len(encode_frame(response(Op.MATVEC),
                                          bytes([Status.OK]) + bytes(4 * shape.lanes)))
    return {"weights": weights, "per_image": per_image,
            "total": weights + batch * per_image}


@dataclass(frozen=True)
class Throughput:
    """One SoC's classifier rate: array cycles per image counted on the RTL, the images per
    second they allow at the design clock, and what the serial link allows."""

    board: str
    shape: TernaryArrayShape
    clock_hz: float
    baud: int
    macs_per_image: int
    tiles_per_image: int
    cycles_per_image: int
    link_bytes_per_image: float

    @property
    def array_images_per_s(self) -> float:
        return self.clock_hz / self.cycles_per_image

    @property
    def link_images_per_s(self) -> float:
        return self.baud / 10 / self.link_bytes_per_image       # 8N1: 10 bits a byte

    @property
    def images_per_s(self) -> float:
        return min(self.array_images_per_s, self.link_images_per_s)


def throughput(network: IntegerNetwork, board, image, batch: int = 64) -> Throughput:
    """Count the array cycles of one `image` (64 grey levels) through `network` on `board`'s
    SoC array shape (Amaranth simulator, weight loads included, as the SoC runs it: every
    tile loaded, then the batch's vectors; per image that is the tile's weight load shared
    by `batch` images plus its vector), and the link's bytes per image at that batch."""
    from tritherm.sim.verify.ternary_driver import count_cycles, tile_jobs
    shape = board.soc.array
    trace = network.trace(np.asarray(image).reshape(1, 64))
    jobs = [job for layer, step in zip(network.layers, trace)
            for job in tile_jobs(shape, layer.weights, step.activations)]
    one = count_cycles(shape, jobs)
    # The same jobs with two vectors each: the second vector's extra cycles are what one
    # more image of the batch costs once the weights are loaded.
    two = count_cycles(shape, [type(job)(job.weights, np.repeat(job.activations, 2, axis=0),
                                         job.name) for job in jobs])
    per_vector = two - one
    cycles = per_vector + (one - per_vector) / batch
    link = link_bytes(network, shape, batch)
    return Throughput(board.name, shape, board.soc.clock_hz, board.soc.baud,
                      sum(layer.weights.size for layer in network.layers), len(jobs),
                      int(round(cycles)), link["total"] / batch)
