"""Threefry-2x32 (Random123): a counter-based generator of adds, rotations and XORs only.

Throughput is set by two parameters. ``unroll`` rounds are computed per clock cycle by one
combinational round chain; the ``rounds / unroll`` chains are either laid out as a pipeline
(``pipelined=True``: one 64-bit block per cycle, latency ``rounds / unroll`` cycles) or one
chain is reused (``pipelined=False``: one block every ``rounds / unroll`` cycles, latency one
more). Rough cost by structure, per round: two 32-bit adders and a 32-bit XOR (a rotation is
wiring); per key injection (every fourth round): two more 32-bit adders. A reused chain adds
a multiplexer per position for the rotation amounts and injected key words it cycles
through; a pipeline adds 128 flip-flops per stage (state and key).

=====================  ==============  ==========  =========================================
configuration          blocks / cycle  latency     logic
=====================  ==============  ==========  =========================================
unroll=1, iterative    1/20            21          1 round + muxes, 64+64 FFs (smallest)
unroll=4, iterative    1/5             6           4 rounds + 1 injection
unroll=1, pipelined    1               20          20 rounds, 20 x 128 FFs (highest Fmax)
unroll=5, pipelined    1               4           20 rounds, 4 x 128 FFs
unroll=20              1               1           20 rounds in one cycle (lowest Fmax)
=====================  ==============  ==========  =========================================
"""

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from tritherm.formats import (THREEFRY_INJECT_EVERY, THREEFRY_PARITY, THREEFRY_ROTATIONS,
                              THREEFRY_ROUNDS, check_rounds)

__all__ = ["Threefry2x32", "THREEFRY_REQUEST", "THREEFRY_BLOCK", "threefry_divisors",
           "check_threefry_config"]

#: A request: the 64-bit counter (word 0 low) and the 64-bit key (word 0 low); 128 bits.
THREEFRY_REQUEST = data.StructLayout({
    "counter": data.ArrayLayout(32, 2),
    "key": data.ArrayLayout(32, 2),
})
#: A block: ``(out0, out1)``, out0 in the low 32 bits.
THREEFRY_BLOCK = data.ArrayLayout(32, 2)

_MASK = 0xFFFFFFFF


def threefry_divisors(rounds: int) -> list[int]:
    """The values ``unroll`` may take for `rounds`: its divisors."""
    return [u for u in range(1, rounds + 1) if rounds % u == 0]


def check_threefry_config(rounds, unroll, pipelined) -> None:
    """Raise ValueError naming the first bad `Threefry2x32` parameter and its allowed range."""
    check_rounds(rounds)
    if unroll not in threefry_divisors(rounds):
        raise ValueError(f"unroll must be a divisor of rounds={rounds} "
                         f"({', '.join(map(str, threefry_divisors(rounds)))}), got {unroll!r}")
    if not isinstance(pipelined, bool):
        raise ValueError(f"pipelined must be True or False, got {pipelined!r}")


def _rotl(x, amount):
    return x.rotate_left(amount)


def _select(index, choices):
    """``choices[index]`` as a mux chain, sharing equal constant choices."""
    if all(isinstance(c, int) for c in choices) and len(set(choices)) == 1:
        return choices[0]
    result = choices[0]
    for k, choice in enumerate(choices[1:], start=1):
        result = Mux(index == k, choice, result)
    return result


class Threefry2x32(wiring.Component):
    """Threefry-2x32 with ``rounds`` rounds: ``block = threefry(counter, key)``.

    Bit-exact with ``tritherm.sim.golden.threefry2x32`` and with Random123's known answers.
    See the module docstring for the throughput/latency/cost of each configuration.

    Parameters
    ----------
    rounds : int
        Rounds, 1..32 (20 by default, Random123's default; 13 is its minimum recommended).
    unroll : int
        Rounds computed per clock cycle; a divisor of ``rounds``.
    pipelined : bool
        True: ``rounds // unroll`` pipeline stages, one block per cycle. False: one chain
        of ``unroll`` rounds reused ``rounds // unroll`` times per block.

    Attributes
    ----------
    request : In(stream.Signature(THREEFRY_REQUEST))
        Counter and key; the payload is 128 bits: counter0, counter1, key0, key1 (low first).
    block : Out(stream.Signature(THREEFRY_BLOCK))
        The 64-bit output ``(out0, out1)``, in request order.
    cycles_per_block : int
        Cycles between accepted requests at full rate (1 when pipelined).
    latency : int
        Cycles from an accepted request to its block being valid (no back-pressure).
    """

    def __init__(self, rounds: int = THREEFRY_ROUNDS, unroll: int = 1, pipelined: bool = True):
        try:
            check_threefry_config(rounds, unroll, pipelined)
        except ValueError:
            self._MustUse__silence = True      # not built: no "created but never used"
            raise
        self.rounds = rounds
        self.unroll = unroll
        self.pipelined = pipelined
        self.steps = rounds // unroll
        self.cycles_per_block = 1 if pipelined else self.steps
        self.latency = self.steps if pipelined else self.steps + 1
        super().__init__({
            "request": In(stream.Signature(THREEFRY_REQUEST)),
            "block": Out(stream.Signature(THREEFRY_BLOCK)),
        })

    def _chain(self, m, x0, x1, k0, k1, iterations, step, name):
        """``unroll`` rounds starting at round ``iteration * unroll`` for each of
        `iterations`; `step` selects the iteration when there are several. Every round's
        result is a named signal (keeps the expression trees, and the simulator, linear)."""
        ks2 = Signal(32, name=f"{name}_ks2")
        m.d.comb += ks2.eq(k0 ^ k1 ^ THREEFRY_PARITY)
        ks = (k0, k1, ks2)
        for position in range(self.unroll):
            if position:
                r0 = Signal(32, name=f"{name}_r{position}_x0")
                r1 = Signal(32, name=f"{name}_r{position}_x1")
                m.d.comb += [r0.eq(x0), r1.eq(x1)]
                x0, x1 = r0, r1
            rounds = [it * self.unroll + position for it in iterations]
            amounts = [THREEFRY_ROTATIONS[r % 8] for r in rounds]
            x0 = (x0 + x1)[:32]
            if len(set(amounts)) == 1:
                rotated = _rotl(x1, amounts[0])
            else:
                rotated = _select(step, [_rotl(x1, a) for a in amounts])
            x1 = rotated ^ x0
            injections = [(r + 1) // THREEFRY_INJECT_EVERY
                          if r % THREEFRY_INJECT_EVERY == THREEFRY_INJECT_EVERY - 1 else None
                          for r in rounds]
            if all(i is None for i in injections):
                continue
            if len(set(injections)) == 1:
                i = injections[0]
                x0 = (x0 + ks[i % 3])[:32]
                x1 = (x1 + ks[(i + 1) % 3] + i)[:32]
            else:
                add0 = _select(step, [Const(0, 32) if i is None else ks[i % 3]
                                      for i in injections])
                add1 = _select(step, [Const(0, 32) if i is None else ks[(i + 1) % 3]
                                      for i in injections])
                plus = _select(step, [0 if i is None else i for i in injections])
                x0 = (x0 + add0)[:32]
                x1 = (x1 + add1 + plus)[:32]
        return x0, x1

    def elaborate(self, platform):
        m = Module()
        request, block = self.request, self.block
        c0, c1 = request.payload.counter[0], request.payload.counter[1]
        k0, k1 = request.payload.key[0], request.payload.key[1]
        # Key injection 0.
        start0, start1 = (c0 + k0)[:32], (c1 + k1)[:32]

        if self.pipelined:
            advance = Signal()
            m.d.comb += [advance.eq(~block.valid | block.ready), request.ready.eq(advance)]
            valid, x0, x1, key0, key1 = request.valid, start0, start1, k0, k1
            for stage in range(self.steps):
                y0, y1 = self._chain(m, x0, x1, key0, key1, [stage], None, f"s{stage}")
                last = stage == self.steps - 1
                if last:
                    n_valid, n0, n1 = block.valid, block.payload[0], block.payload[1]
                else:
                    n_valid = Signal(name=f"s{stage + 1}_valid")
                    n0 = Signal(32, name=f"s{stage + 1}_x0")
                    n1 = Signal(32, name=f"s{stage + 1}_x1")
                    n_key0 = Signal(32, name=f"s{stage + 1}_k0")
                    n_key1 = Signal(32, name=f"s{stage + 1}_k1")
                with m.If(advance):
                    m.d.sync += [n_valid.eq(valid), n0.eq(y0), n1.eq(y1)]
                    if not last:
                        m.d.sync += [n_key0.eq(key0), n_key1.eq(key1)]
                if not last:
                    valid, x0, x1, key0, key1 = n_valid, n0, n1, n_key0, n_key1
            return m

        # Iterative: one chain, `steps` passes per block.
        busy = Signal()
        step = Signal(range(self.steps))
        x0, x1 = Signal(32), Signal(32)
        key0, key1 = Signal(32), Signal(32)
        y0, y1 = self._chain(m, x0, x1, key0, key1, list(range(self.steps)), step, "chain")
        output_free = ~block.valid | block.ready
        finishing = busy & (step == self.steps - 1) & output_free
        m.d.comb += request.ready.eq(~busy | finishing)
        with m.If(block.valid & block.ready):
            m.d.sync += block.valid.eq(0)
        with m.If(busy):
            with m.If(step != self.steps - 1):
                m.d.sync += [x0.eq(y0), x1.eq(y1), step.eq(step + 1)]
            with m.Elif(output_free):
                m.d.sync += [block.payload[0].eq(y0), block.payload[1].eq(y1),
                             block.valid.eq(1), busy.eq(0), step.eq(0)]
        with m.If(request.valid & request.ready):
            m.d.sync += [x0.eq(start0), x1.eq(start1), key0.eq(k0), key1.eq(k1),
                         busy.eq(1), step.eq(0)]
        return m
