"""One cycle-level port interface for every simulator.

Testbenches in tritherm are written once against `CycleIO` and run unchanged on the
Amaranth simulator (`AmaranthIO`) and on cocotb (`tritherm.sim.verify.cocotb_io.CocotbIO`).
Ports are named as in the generated Verilog (``activations__valid``, ...), and values are
the flattened unsigned integers seen there.

A cycle is: ``begin_cycle()``, ``set()`` the inputs, ``settle()``, ``get()`` outputs as they
are just before the rising edge (so ``valid & ready`` means a transfer), ``end_cycle()``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Protocol

from amaranth.hdl import Value

__all__ = ["CycleIO", "AmaranthIO", "Traffic", "flat_ports", "pack_fields", "unpack_fields",
           "drive_stream"]


class CycleIO(Protocol):
    """What a testbench needs from a simulator, one clock cycle at a time."""

    async def begin_cycle(self) -> None: ...
    def set(self, name: str, value: int) -> None: ...
    async def settle(self) -> None: ...
    def get(self, name: str) -> int: ...
    async def end_cycle(self) -> None: ...


def flat_ports(component) -> dict[str, Value]:
    """Map each port of a `wiring.Component` to its Verilog name (path joined by ``__``)."""
    return {"__".join(str(part) for part in path): Value.cast(value)
            for path, _flow, value in component.signature.flatten(component)}


class AmaranthIO:
    """`CycleIO` over an Amaranth async testbench context (``sim.add_testbench``);
    ``cycles`` counts the clock cycles it has ended."""

    def __init__(self, ctx, component):
        self._ctx = ctx
        self._ports = flat_ports(component)
        self.cycles = 0

    async def begin_cycle(self):
        pass

    def set(self, name, value):
        self._ctx.set(self._ports[name], value)

    async def settle(self):
        pass

    def get(self, name):
        return self._ctx.get(self._ports[name])

    async def end_cycle(self):
        await self._ctx.tick()
        self.cycles += 1


def pack_fields(values, width: int) -> int:
    """Pack integers (two's complement, `width` bits each) into one word, element 0 lowest."""
    mask = (1 << width) - 1
    word = 0
    for index, value in enumerate(values):
        word |= (int(value) & mask) << (index * width)
    return word


def unpack_fields(word: int, width: int, count: int) -> list[int]:
    """Split a word into `count` signed `width`-bit fields, element 0 lowest."""
    mask, sign = (1 << width) - 1, 1 << (width - 1)
    fields = []
    for index in range(count):
        field = (word >> (index * width)) & mask
        fields.append(field - (1 << width) if field & sign else field)
    return fields


@dataclass
class Traffic:
    """Random stream timing: probability of a gap on the input, of back-pressure on the
    output; drawn from a seeded generator so a run can be replayed."""

    gap: float = 0.3
    stall: float = 0.3
    seed: int = 0
    rng: random.Random = field(init=False)

    def __post_init__(self):
        self.rng = random.Random(self.seed)


async def drive_stream(io: CycleIO, source: str, sink: str, payloads: list[int],
                       traffic: Traffic | None = None, max_cycles: int | None = None
                       ) -> list[int]:
    """Push `payloads` into stream port `source` and collect as many from `sink`.

    Returns the sink payloads (flattened integers) in order."""
    count = len(payloads)
    max_cycles = max_cycles or 64 * count + 1000
    in_valid, in_payload, in_ready = (f"{source}__{s}" for s in ("valid", "payload", "ready"))
    out_valid, out_payload, out_ready = (f"{sink}__{s}" for s in ("valid", "payload", "ready"))
    received: list[int] = []
    sent = 0
    offering = False
    await io.begin_cycle()
    io.set(out_ready, 1)
    for _ in range(max_cycles):
        if traffic is None:
            # Inputs change only while requests remain (and once more to drop valid).
            if offering or sent < count:
                await io.begin_cycle()
                io.set(in_valid, int(sent < count))
                if sent < count:
                    io.set(in_payload, payloads[sent])
            offering = sent < count
            ready = True
        else:
            await io.begin_cycle()
            offering = sent < count and (offering or traffic.rng.random() >= traffic.gap)
            io.set(in_valid, int(offering))
            io.set(in_payload, payloads[sent] if offering else 0)
            ready = traffic.rng.random() >= traffic.stall
            io.set(out_ready, int(ready))
        await io.settle()
        took = offering and io.get(in_ready)
        if ready and io.get(out_valid):
            received.append(io.get(out_payload))
        await io.end_cycle()
        if took:
            sent += 1
            offering = False
        if len(received) == count:
            break
    else:
        raise TimeoutError(f"{sink} gave {len(received)} of {count} payloads "
                           f"in {max_cycles} cycles")
    await io.begin_cycle()
    io.set(in_valid, 0)
    io.set(out_ready, 0)
    await io.end_cycle()
    return received
