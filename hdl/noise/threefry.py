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
unroll=4, interleave 2 1/5             11          2 x 2 rounds, 2 blocks in flight
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


def check_threefry_config(rounds, unroll, pipelined, interleave=1) -> None:
    """Raise ValueError naming the first bad `Threefry2x32` parameter and its allowed range."""
    check_rounds(rounds)
    if unroll not in threefry_divisors(rounds):
        raise ValueError(f"unroll must be a divisor of rounds={rounds} "
                         f"({', '.join(map(str, threefry_divisors(rounds)))}), got {unroll!r}")
    if not isinstance(pipelined, bool):
        raise ValueError(f"pipelined must be True or False, got {pipelined!r}")
    if isinstance(interleave, bool) or interleave not in threefry_divisors(unroll) \
            or (pipelined and interleave != 1):
        raise ValueError(f"interleave must be a divisor of unroll={unroll} (1 when "
                         f"pipelined), got {interleave!r}")


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
    interleave : int
        Iterative only: the chain is cut into ``interleave`` register stages of ``unroll /
        interleave`` rounds, each holding a block of its own, so ``interleave`` blocks are
        in flight: the same cycles per block, a combinational path of ``unroll /
        interleave`` rounds (a divisor of ``unroll``; 1 by default).
    shared_key1 : bool
        Interleaved only: every request has the same ``key1``, held on ``request`` while
        blocks are in flight (a seed), so the stages read it instead of keeping a copy.

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

    def __init__(self, rounds: int = THREEFRY_ROUNDS, unroll: int = 1, pipelined: bool = True,
                 interleave: int = 1, shared_key1: bool = False):
        try:
            check_threefry_config(rounds, unroll, pipelined, interleave)
        except ValueError:
            self._MustUse__silence = True      # not built: no "created but never used"
            raise
        self.rounds = rounds
        self.unroll = unroll
        self.pipelined = pipelined
        self.interleave = interleave
        self.shared_key1 = bool(shared_key1) and interleave > 1
        self.steps = rounds // unroll
        self.cycles_per_block = 1 if pipelined else self.steps
        self.latency = self.steps if pipelined else self.steps * interleave + 1
        super().__init__({
            "request": In(stream.Signature(THREEFRY_REQUEST)),
            "block": Out(stream.Signature(THREEFRY_BLOCK)),
        })

    def _injections(self, m, k0, k1, iterations, step, name, positions):
        """The key words the rounds at `positions` add, by position: ``(add0, add1)`` with
        the injection's count already in ``add1`` (`step` selects the iteration)."""
        ks2 = Signal(32, name=f"{name}_ks2")
        m.d.comb += ks2.eq(k0 ^ k1 ^ THREEFRY_PARITY)
        ks = (k0, k1, ks2)
        words = {}
        for position in positions:
            rounds = [it * self.unroll + position for it in iterations]
            injections = [(r + 1) // THREEFRY_INJECT_EVERY
                          if r % THREEFRY_INJECT_EVERY == THREEFRY_INJECT_EVERY - 1 else None
                          for r in rounds]
            if all(i is None for i in injections):
                continue
            if len(set(injections)) == 1:
                i = injections[0]
                words[position] = (ks[i % 3], (ks[(i + 1) % 3] + i)[:32])
            else:
                add0 = _select(step, [Const(0, 32) if i is None else ks[i % 3]
                                      for i in injections])
                add1 = _select(step, [Const(0, 32) if i is None else ks[(i + 1) % 3]
                                      for i in injections])
                plus = _select(step, [0 if i is None else i for i in injections])
                words[position] = (add0, (add1 + plus)[:32])
        return words

    def _chain(self, m, x0, x1, k0, k1, iterations, step, name, positions=None,
               injections=None):
        """``unroll`` rounds (or those at `positions` of them) starting at round
        ``iteration * unroll`` for each of `iterations`; `step` selects the iteration when
        there are several; `injections` (by position, from `_injections`) the key words
        when they are computed elsewhere. Every round's result is a named signal (keeps the
        expression trees, and the simulator, linear)."""
        positions = range(self.unroll) if positions is None else positions
        if injections is None:
            injections = self._injections(m, k0, k1, iterations, step, name, positions)
        for position in positions:
            if position != positions[0]:
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
            if position in injections:
                add0, add1 = injections[position]
                x0 = (x0 + add0)[:32]
                x1 = (x1 + add1)[:32]
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

        if self.interleave > 1:
            return self._elaborate_interleaved(m, start0, start1, k0, k1)

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

    def _elaborate_interleaved(self, m, start0, start1, k0, k1):
        """The chain in ``interleave`` stages, a block in each: a block enters stage 0 with
        its first key injection done, passes every stage once per pass (``unroll /
        interleave`` rounds each) and leaves after ``steps`` passes, in request order.
        Blocks enter at most every ``steps`` cycles, so they also leave evenly spaced (a
        consumer that takes a block every second cycle keeps up)."""
        request, block = self.request, self.block
        stages, per = self.interleave, self.unroll // self.interleave
        valid = [Signal(name=f"ring{s}_valid") for s in range(stages)]
        step = [Signal(range(self.steps), name=f"ring{s}_step") for s in range(stages)]
        x0 = [Signal(32, name=f"ring{s}_x0") for s in range(stages)]
        x1 = [Signal(32, name=f"ring{s}_x1") for s in range(stages)]
        key0 = [Signal(32, name=f"ring{s}_k0") for s in range(stages)]
        key1 = [Signal(32, name=f"ring{s}_k1") for s in range(stages)]
        if self.shared_key1:
            key1 = [k1] * stages
        iterations = list(range(self.steps))
        positions = [range(s * per, (s + 1) * per) for s in range(stages)]
        # Each stage's key words are registered with the block entering it (computed from
        # its key and pass the cycle before), so no key multiplexer is on the round chain.
        words = [{pos: (Signal(32, name=f"ring{s}_add0_{pos}"),
                        Signal(32, name=f"ring{s}_add1_{pos}"))
                  for pos in positions[s]
                  if any((it * self.unroll + pos) % THREEFRY_INJECT_EVERY
                         == THREEFRY_INJECT_EVERY - 1 for it in iterations)}
                 for s in range(stages)]
        results = [self._chain(m, x0[s], x1[s], key0[s], key1[s], iterations, step[s],
                               f"ring{s}", positions[s], words[s])
                   for s in range(stages)]
        last = stages - 1
        leaving = valid[last] & (step[last] == self.steps - 1)
        # The ring stands still while a finished block waits for the output register.
        move = ~leaving | ~block.valid | block.ready
        looping = valid[last] & ~leaving
        wait = Signal(range(self.steps))
        m.d.comb += request.ready.eq(move & ~looping & (wait == 0))
        with m.If(request.valid & request.ready):
            m.d.sync += wait.eq(self.steps - 1)
        with m.Elif(wait != 0):
            m.d.sync += wait.eq(wait - 1)
        with m.If(block.valid & block.ready):
            m.d.sync += block.valid.eq(0)
        next_step = Signal(range(self.steps), name="ring_next_step")
        m.d.comb += next_step.eq(step[last] + 1)
        upcoming = [self._injections(m, key0[s - 1], key1[s - 1], iterations, step[s - 1],
                                     f"next{s}", positions[s]) if s else None
                    for s in range(stages)]
        loop_words = self._injections(m, key0[last], key1[last], iterations, next_step,
                                      "loop", positions[0])
        new_words = self._injections(m, k0, k1, iterations, Const(0, range(self.steps)),
                                     "new", positions[0])
        with m.If(move):
            for s in range(1, stages):
                for pos, (add0, add1) in words[s].items():
                    m.d.sync += [add0.eq(upcoming[s][pos][0]), add1.eq(upcoming[s][pos][1])]
            for pos, (add0, add1) in words[0].items():
                m.d.sync += [add0.eq(Mux(looping, loop_words[pos][0], new_words[pos][0])),
                             add1.eq(Mux(looping, loop_words[pos][1], new_words[pos][1]))]
            for s in range(1, stages):
                m.d.sync += [valid[s].eq(valid[s - 1]), step[s].eq(step[s - 1]),
                             x0[s].eq(results[s - 1][0]), x1[s].eq(results[s - 1][1]),
                             key0[s].eq(key0[s - 1])]
                if not self.shared_key1:
                    m.d.sync += key1[s].eq(key1[s - 1])
            with m.If(leaving):
                m.d.sync += [block.payload[0].eq(results[last][0]),
                             block.payload[1].eq(results[last][1]), block.valid.eq(1)]
            with m.If(looping):
                m.d.sync += [valid[0].eq(1), step[0].eq(step[last] + 1),
                             x0[0].eq(results[last][0]), x1[0].eq(results[last][1]),
                             key0[0].eq(key0[last])]
                if not self.shared_key1:
                    m.d.sync += key1[0].eq(key1[last])
            with m.Elif(request.valid & (wait == 0)):
                m.d.sync += [valid[0].eq(1), step[0].eq(0), x0[0].eq(start0),
                             x1[0].eq(start1), key0[0].eq(k0)]
                if not self.shared_key1:
                    m.d.sync += key1[0].eq(k1)
            with m.Else():
                m.d.sync += valid[0].eq(0)
        return m
