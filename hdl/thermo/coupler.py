"""`Coupler`: a digital analogue of the eight-resonator stochastic processing unit.

``cells`` coupled cells relax, under counter-based Gaussian noise (one `NoiseSource` stream
per cell), to the equilibrium ``N(A^-1 b, kT A^-1)`` of the potential
``V(x) = x^T A x / 2 - b^T x + sum_i J4_i x_i^4`` (the quadratic self-term J2 of the
generative thermodynamic computer is folded into A's diagonal, A_ii + 2 J2_i, by whoever
programs the core: a separate product would be the same arithmetic on one more DSP).

Formats (`tritherm.formats.CouplerFormat`, `COUPLER_FORMAT`): x, p, b are 16-bit signed
with 10 fraction bits; A and k4 = 4 J4 are 16-bit with 12; the run-time multipliers DAMP
and NOISE are 16-bit with 14; the noise xi is `NOISE_FORMAT` (16 bits, 12, in sigmas). The
step is a power of two, ``h = 2**-hs`` (HSHIFT register, 0..15): a shift costs no DSP and
no rounding of h itself; temperature and friction stay continuous through DAMP and NOISE.

One step (g_i the potential's gradient, exact in a ``coupler_acc_width``-bit accumulator
with 22 fraction bits; ``rnd(v, s) = (v + 2**(s-1)) >> s`` is round to nearest with ties
upwards; ``sat`` clamps to 16 bits and sets cell i's sticky flag; nothing wraps)::

    g_i = sum_j A_ij x_j - (b_i << 12) [+ k4_i c3_i]
          c2_i = sat(rnd(x_i x_i, 10)),  c3_i = sat(rnd(c2_i x_i, 10))     (QUARTIC = 1)
    overdamped, Euler-Maruyama (x' = x - h g + sigma xi):
        x_i' = sat(x_i + rnd(-(g_i << 4) + (NOISE xi_i << hs), 16 + hs))
    underdamped, BAOAB with its two half kicks merged into one (kick h, drift h/2, exact
    Ornstein-Uhlenbeck on p with c1 = exp(-gamma h), drift h/2; the x sequence is BAOAB's):
        p1 = sat(p_i + rnd(-g_i, 12 + hs))
        p2 = sat(rnd((DAMP p1 << 2) + NOISE xi_i, 16))
        x_i' = sat(x_i + rnd(p1 + p2, hs + 1)),   p_i' = p2

All cells' gradients use the state at the start of the step. The golden model
`tritherm.sim.golden.CouplerModel` does exactly this.

State in memories: x, p and the noise beats live in block RAM, read one cell a cycle, so
a cell costs no register and no multiplexer input. x and p are kept twice (two banks): a
step reads one bank and writes x' and p' to the other, and its commit swaps them (no copy).
The A x products read their ``multipliers`` x values a cycle from a memory whose word
holds ``multipliers`` of them; the update reads x and p of one cell; a sample's x and p
are read through `read` while the next step runs. The noise beats are `NoiseBeats`' (two
halves: one read while the other fills).

Schedule (`tritherm.formats.coupler_cycles_per_step`): the A x products stream over
(cell, block) without a gap: each cycle reads one word of ``multipliers`` entries of row
``A_i.`` from on-chip memory and multiplies it with ``multipliers`` x values (registered
operands, registered products: yosys maps each to an SB_MAC16 or MULT18X18D), so cell i's
gradient is complete ``cells / multipliers`` cycles after cell i-1's. Each gradient then
enters the update pipeline, which takes a new cell every cycle on two more multipliers:
U1 for NOISE xi (its operands are loaded while the gradient still accumulates) and U2 for
DAMP p1. The overdamped x' is written, from a register, two cycles after the gradient
completes; the underdamped kick p1
goes straight into U2; p2 is registered two cycles later, and x' and p' are written from
it in the next cycle. The last write of a step also swaps the banks (the commit), so
a linear step takes ``cells * cells / multipliers + 8`` cycles (24 for 8 cells on 4
multipliers, 16 on 8). With QUARTIC, a pre-pass first computes k4_i c3_i for every cell
into a small memory that seeds each row's accumulator: U1 squares on even cycles and cubes
on odd ones, U2 multiplies by k4, two cycles a cell (``2 cells + 6`` more cycles; the
pre-pass exists only in a core built with ``quartic=True``). A sample costs no cycle: the
next step starts as the sample is offered and runs while it is read; only its commit waits
for the sample to be taken (it would swap the sample's bank back into use).

A step starts only when the noise beat is ready. The default noise source makes a beat
every ``cells / 2 * rounds / noise_unroll`` cycles on average (ICDF; `noise_cycles_per_step`),
so a step takes the larger of the two on average: with 8 cells, 24 against 20 cycles on 4
multipliers; on 8 multipliers the noise sets the pace (20) unless ``noise_unroll`` is raised.

DSPs (`dsp_count`): ``multipliers + 2``, plus the ICDF shaper's two in the noise source
(yosys: 8 SB_MAC16 for 8 cells on 4 multipliers, all of the iCE40UP5K's 8).

Control: write the configuration (`config`, a stream of address/data, accepted only while
stopped), then ask for a number of steps on `run` (accepted while stopped). ``stop`` high at
the end of a step ends the run there. After every THIN-th step the state is offered on
`samples` (sequence number = step count, see below, and the cells' flags); x and p of
every cell are read through `read` (``read.addr = i``: cell i's x and p the cycle after)
until the sample is taken. The dynamics wait while a sample is not taken (the next step
runs, its commit waits), so none is dropped. The seed register resets to 0 and is
applied at reset; writing SEED restarts the noise streams and the step count at 0.

Raw noise: while stopped, `noise` offers the noise source's next beat (one Gaussian sample
per cell, `NOISE_FORMAT`, read through `read` as ``xi``); taking it advances the streams exactly as a step would, so the
next run's noise continues after the beats read (writing SEED restarts them). The step
count (and so a sample's ``seq``) counts every beat consumed since the seed was written,
by steps and by reads alike: it is always the noise step the next step uses, and the k-th
beat after a seed write is ``tritherm.sim.golden.noise_steps`` row k.

Parameters
----------
cells : int
    Number of cells (2..256); 8 is the SPU's.
multipliers : int
    MAC units for A x: a power of two that divides ``cells``.
shaper, rounds, noise_unroll, noise_pipelined :
    The noise source's Gaussian shaper and Threefry configuration (`NoiseSource`). The
    default, an iterative Threefry with 4 rounds per cycle, makes a block every 5 cycles
    at a fraction of the pipelined core's ~3000 flip-flops. A step needs ``cells / 2``
    ICDF blocks, so it keeps up with ``multipliers <= cells / 4`` and with 8 cells on 4
    (`noise_cycles_per_step`); ``noise_unroll=10`` or ``noise_pipelined=True`` feed the
    faster schedules.
noise_interleave : int or None
    The iterative Threefry's round chain in that many register stages, each with a block
    of its own (`Threefry2x32`): the same pace, a shorter path. Default: 2 when
    ``noise_unroll`` is even (4 rounds a cycle as 2 x 2), else 1.
quartic : bool
    Build the quartic pre-pass (the k4 memory, the QUARTIC register). Without it QUARTIC
    and k4 writes are ignored (QUARTIC stays 0); a host refuses a program with k4 != 0.
fmt : CouplerFormat

Attributes
----------
config : In(stream.Signature(StructLayout({"addr": 16, "data": 32})))
    Configuration writes (map: `tritherm.formats.coupler_address`, `coupler_a_write`).
run : In(stream.Signature(32))
    Steps to run (0 does nothing).
stop : In(1)
    Sampled at the end of every step: end the run there.
running : Out(1)
step : Out(32)
    Noise beats consumed since the seed was written (steps and raw noise reads).
saturated : Out(cells)
    Sticky saturation flag per cell (cleared by writing the FLAGS register).
samples : Out(stream.Signature(StructLayout({"seq": 32, "flags": cells})))
    A sample: the step count and the cells' sticky flags after that step; its x and p
    through `read` while it is offered.
noise : Out(stream.Signature(32))
    The noise source's next beat is ready (offered while stopped); the payload is its
    number (`step`), its samples are read through `read`.
read : In(read_signature(cells))
    ``addr`` (a cell) in; ``data`` = that cell's ``x`` and ``p`` (of the sample offered, or
    the state while stopped) and ``xi`` (its sample of the noise beat offered while
    stopped) the cycle after.
"""

from amaranth.hdl import Cat, Const, Module, Mux, ResetInserter, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tritherm.formats import (COUPLER_ADDR_BITS, COUPLER_CELL_BITS, COUPLER_DATA_BITS,
                              COUPLER_FORMAT, COUPLER_INDEX_BITS, COUPLER_MAX_CELLS,
                              COUPLER_REGION_A, COUPLER_REGION_A_ROW, COUPLER_REGION_B,
                              COUPLER_REGION_K4, COUPLER_REGION_P, COUPLER_REGION_SCALAR,
                              COUPLER_REGION_X, COUPLER_REG_DAMP, COUPLER_REG_FLAGS,
                              COUPLER_REG_HSHIFT, COUPLER_REG_MODE, COUPLER_REG_NOISE,
                              COUPLER_REG_QUARTIC, COUPLER_REG_SEED, COUPLER_REG_THIN,
                              COUPLER_SEQ_BITS, COUPLER_UNDERDAMPED, NOISE_FORMAT,
                              NOISE_SEED_BITS, SHAPER_SAMPLES, THREEFRY_ROUNDS,
                              CouplerFormat, check_rounds, coupler_acc_width)

from ..noise import NoiseBeats, check_threefry_config

__all__ = ["Coupler", "config_layout", "sample_layout", "state_layout", "read_signature"]


def config_layout() -> data.StructLayout:
    return data.StructLayout({"addr": unsigned(COUPLER_ADDR_BITS),
                              "data": unsigned(COUPLER_DATA_BITS)})


def sample_layout(cells: int, fmt: CouplerFormat = COUPLER_FORMAT) -> data.StructLayout:
    """One sample as `samples` offers it: ``seq`` (low bits) and ``flags`` (cell 0
    lowest); its x and p are read through `read_signature`."""
    del fmt
    return data.StructLayout({"seq": unsigned(COUPLER_SEQ_BITS), "flags": unsigned(cells)})


def state_layout(fmt: CouplerFormat = COUPLER_FORMAT) -> data.StructLayout:
    """What `Coupler.read` answers for one cell: ``x``, ``p`` and the noise sample ``xi``."""
    state = signed(fmt.state.width)
    return data.StructLayout({"x": state, "p": state, "xi": signed(NOISE_FORMAT.width)})


def read_signature(cells: int, fmt: CouplerFormat = COUPLER_FORMAT) -> wiring.Signature:
    """The coupler's cell read port, from the reader's side: ``addr`` out, ``data`` in
    (`state_layout`, the cycle after the address)."""
    return wiring.Signature({"addr": Out(range(cells)), "data": In(state_layout(fmt))})


def _round(value, shift, base: int):
    """``rnd(value, shift + base)``: round to nearest, ties up; `shift` int or Value."""
    if isinstance(shift, int):
        total = shift + base
        return (value + (1 << (total - 1))) >> total
    return (value + (Const(1, 1) << (shift + (base - 1)))) >> (shift + base)


def _saturate(value, width: int):
    """(clamped to signed `width` bits, saturated?)."""
    low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
    over, under = value > high, value < low
    clamped = Mux(over, high, Mux(under, low, value))[:width].as_signed()
    return clamped, over | under


class Coupler(wiring.Component):
    __doc__ = __doc__

    def __init__(self, cells: int = 8, multipliers: int = 4, shaper: str = "icdf",
                 rounds: int = THREEFRY_ROUNDS, noise_unroll: int = 4,
                 noise_pipelined: bool = False, quartic: bool = True,
                 fmt: CouplerFormat = COUPLER_FORMAT, noise_interleave: int | None = None):
        try:
            if not isinstance(cells, int) or isinstance(cells, bool) \
                    or not 2 <= cells <= COUPLER_MAX_CELLS:
                raise ValueError(f"cells must be an integer in [2, {COUPLER_MAX_CELLS}], "
                                 f"got {cells!r}")
            if not isinstance(multipliers, int) or isinstance(multipliers, bool) \
                    or multipliers < 1 or multipliers & (multipliers - 1) \
                    or cells % multipliers:
                raise ValueError(f"multipliers must be a power of two that divides "
                                 f"cells={cells}, got {multipliers!r}")
            if shaper not in SHAPER_SAMPLES:
                raise ValueError(f"shaper must be one of {', '.join(SHAPER_SAMPLES)}, "
                                 f"got {shaper!r}")
            check_rounds(rounds)
            if noise_interleave is None:
                noise_interleave = 2 if not noise_pipelined and noise_unroll % 2 == 0 else 1
            check_threefry_config(rounds, noise_unroll, noise_pipelined, noise_interleave)
            if not isinstance(quartic, bool):
                raise ValueError(f"quartic must be True or False, got {quartic!r}")
            if not isinstance(fmt, CouplerFormat):
                raise ValueError(f"fmt must be a CouplerFormat, got {fmt!r}")
        except ValueError:
            self._MustUse__silence = True
            raise
        self.cells, self.multipliers = cells, multipliers
        self.shaper, self.rounds, self.fmt = shaper, rounds, fmt
        self.noise_unroll, self.noise_pipelined = noise_unroll, noise_pipelined
        self.noise_interleave = noise_interleave
        self.quartic = quartic
        super().__init__({
            "config": In(stream.Signature(config_layout())),
            "run": In(stream.Signature(32)),
            "stop": In(1),
            "running": Out(1),
            "step": Out(COUPLER_SEQ_BITS),
            "saturated": Out(cells),
            "samples": Out(stream.Signature(sample_layout(cells, fmt))),
            "noise": Out(stream.Signature(COUPLER_SEQ_BITS)),
            "read": In(read_signature(cells, fmt)),
        })

    @property
    def dsp_count(self) -> int:
        """Multipliers the core instantiates: ``multipliers`` MACs + the two update ones
        (the noise source's ICDF shaper adds its own)."""
        return self.multipliers + 2

    @property
    def noise_cycles_per_step(self) -> float:
        """Average cycles between noise beats when the noise source runs at full rate:
        ``cells`` Threefry blocks per ``samples_per_block`` beats, a block every
        ``rounds / noise_unroll`` cycles (iterative) or every cycle plus one bubble per
        group (pipelined). A step takes ``max(coupler_cycles_per_step, this)`` on average."""
        spb = SHAPER_SAMPLES[self.shaper]
        if self.noise_pipelined:
            return (self.cells + 1) / spb
        return self.cells * (self.rounds // self.noise_unroll) / spb

    def elaborate(self, platform):
        m = Module()
        n, lanes, fmt = self.cells, self.multipliers, self.fmt
        has_quartic = self.quartic
        blocks = n // lanes                              # MAC cycles per row
        block_bits = (blocks - 1).bit_length()           # bits of a block index
        lane_bits = (lanes - 1).bit_length()
        cell_bits = (n - 1).bit_length()                 # bits of a cell index (n >= 2)
        sw, cw = fmt.state.width, fmt.coef.width
        state, coef, mult = signed(sw), signed(cw), signed(fmt.mult.width)
        pfrac, sfrac = fmt.product_frac, fmt.state.frac
        issue_cycles = n * blocks                        # A x words per step
        commit_at = issue_cycles + 7                     # the last cell's underdamped write
        prepass_cycles = 2 * n + 6                       # QUARTIC pre-pass (see below)

        # Noise: one stream per cell, the beats in a memory; restarted by a SEED write.
        reseed = Signal()
        beats = NoiseBeats(n, self.shaper, self.rounds, self.noise_unroll,
                           self.noise_pipelined, self.noise_interleave)
        m.submodules.noise = ResetInserter(reseed)(beats)

        # Registers.
        flags = [Signal(name=f"flag{i}") for i in range(n)]
        sample_flags = Signal(n)                         # the flags of the sample offered
        mode, quartic = Signal(), Signal()
        hshift = Signal(fmt.hshift_bits)
        damp, noise_amp = Signal(mult), Signal(mult)
        thin = Signal(16, init=1)
        seed = Signal(NOISE_SEED_BITS)
        seed_pending = Signal(init=1)
        step = Signal(COUPLER_SEQ_BITS)
        left = Signal(16, init=1)
        remaining = Signal(32)
        emit = Signal()                                  # a sample waits to be taken
        bank = Signal()                                  # the state memories' current half

        m.d.comb += [self.step.eq(step), self.saturated.eq(Cat(*flags))]

        # The seed goes to the noise source once after reset and after every SEED write.
        m.d.comb += [beats.seed.valid.eq(seed_pending), beats.seed.payload.eq(seed)]
        with m.If(beats.seed.valid & beats.seed.ready):
            m.d.sync += seed_pending.eq(0)

        # The coupler's memories go to block RAM even when small (a few cells): as flip-flops
        # each bit would take a logic cell by itself, and block RAM is the cheaper resource.
        in_block_ram = {"ram_style": "block"}
        # A: row i, block jb at address Cat(jb, i); lane l of a word is column jb*lanes + l.
        m.submodules.a_mem = a_mem = Memory(shape=unsigned(lanes * cw),
                                            depth=n << block_bits, init=[], attrs=in_block_ram)
        a_wr = a_mem.write_port(granularity=cw)
        a_rd = a_mem.read_port()
        if has_quartic:
            # k4_i c3_i of every cell (QUARTIC), written by the pre-pass, read as rows start.
            m.submodules.q_mem = q_mem = Memory(shape=signed(sw + cw), depth=n, init=[],
                                                attrs=in_block_ram)
            q_wr = q_mem.write_port()
            q_rd = q_mem.read_port()
        # b_i (low half) and k4_i (high half, QUARTIC) of every cell: read one cell at a
        # time (b as a row starts, k4 in the pre-pass), so one small memory.
        bk_width = sw + (cw if has_quartic else 0)
        m.submodules.bk_mem = bk_mem = Memory(shape=unsigned(bk_width), depth=n, init=[],
                                              attrs=in_block_ram)
        bk_wr = bk_mem.write_port(granularity=sw)
        bk_rd = bk_mem.read_port()
        # The state: x and p of cell i in bank k at address Cat(i, k). Each memory has a
        # read port for the update and one for `read` (the sample offered).
        m.submodules.x_mem = x_mem = Memory(shape=state, depth=2 << cell_bits, init=[],
                                            attrs=in_block_ram)
        x_wr, x_rd, xs_rd = x_mem.write_port(), x_mem.read_port(), x_mem.read_port()
        m.submodules.p_mem = p_mem = Memory(shape=state, depth=2 << cell_bits, init=[],
                                            attrs=in_block_ram)
        p_wr, p_rd, ps_rd = p_mem.write_port(), p_mem.read_port(), p_mem.read_port()
        # x again, `lanes` cells a word (block jb of bank k at Cat(jb, k)): the A x operands.
        m.submodules.xw_mem = xw_mem = Memory(shape=unsigned(lanes * sw),
                                              depth=2 << block_bits, init=[],
                                              attrs=in_block_ram)
        xw_wr, xw_rd = xw_mem.write_port(granularity=sw), xw_mem.read_port()

        # Raw noise reads (while stopped) consume a beat like a step; the step count
        # follows every beat, so it stays the noise step of the next step.
        idle = Signal()
        commit = Signal()
        m.d.comb += [
            self.noise.valid.eq(idle & beats.beat.valid),
            beats.beat.ready.eq(commit | (idle & self.noise.ready)),
        ]
        with m.If(beats.beat.valid & beats.beat.ready):
            m.d.sync += step.eq(step + 1)

        # Configuration writes (only while stopped).
        cfg = self.config.payload
        write = Signal()
        m.d.comb += write.eq(self.config.valid & self.config.ready)
        region = cfg.addr[COUPLER_INDEX_BITS:]
        index = cfg.addr[:COUPLER_INDEX_BITS]
        word = cfg.data[:sw].as_signed()
        # A: region A (row and column in the index) or A_ROW (the row in the index, the
        # column in the data's high half).
        compact = region == COUPLER_REGION_A
        a_row = Mux(compact, index[COUPLER_CELL_BITS:], index)
        a_column = Mux(compact, index[:COUPLER_CELL_BITS], cfg.data[16:])
        with m.If(write & (compact | (region == COUPLER_REGION_A_ROW))
                  & (a_row < n) & (a_column < n)):
            m.d.comb += [
                a_wr.addr.eq(Cat(a_column[lane_bits:lane_bits + block_bits],
                                 a_row[:cell_bits])),
                a_wr.data.eq(Cat(*([cfg.data[:cw]] * lanes))),
                a_wr.en.eq(Const(1, lanes) << a_column[:lane_bits]),
            ]
        if has_quartic:
            with m.If(write & ((region == COUPLER_REGION_B) | (region == COUPLER_REGION_K4))
                      & (index < n)):
                m.d.comb += [bk_wr.addr.eq(index[:cell_bits]),
                             bk_wr.data.eq(Cat(cfg.data[:sw], cfg.data[:cw])),
                             bk_wr.en.eq(Mux(region == COUPLER_REGION_B, 0b01, 0b10))]
        else:
            with m.If(write & (region == COUPLER_REGION_B) & (index < n)):
                m.d.comb += [bk_wr.addr.eq(index[:cell_bits]), bk_wr.data.eq(cfg.data[:sw]),
                             bk_wr.en.eq(1)]
        # A configured x or p goes to the current bank (the updates write the other).
        write_x = write & (region == COUPLER_REGION_X) & (index < n)
        write_p = write & (region == COUPLER_REGION_P) & (index < n)
        with m.If(write & (region == COUPLER_REGION_SCALAR)):
            with m.Switch(index):
                with m.Case(COUPLER_REG_MODE):
                    m.d.sync += mode.eq(cfg.data[0])
                if has_quartic:
                    with m.Case(COUPLER_REG_QUARTIC):
                        m.d.sync += quartic.eq(cfg.data[0])
                with m.Case(COUPLER_REG_HSHIFT):
                    m.d.sync += hshift.eq(cfg.data)
                with m.Case(COUPLER_REG_DAMP):
                    m.d.sync += damp.eq(cfg.data[:fmt.mult.width])
                with m.Case(COUPLER_REG_NOISE):
                    m.d.sync += noise_amp.eq(cfg.data[:fmt.mult.width])
                with m.Case(COUPLER_REG_THIN):
                    value = Mux(cfg.data[:16] == 0, 1, cfg.data[:16])
                    m.d.sync += [thin.eq(value), left.eq(value)]
                with m.Case(COUPLER_REG_SEED):
                    m.d.comb += reseed.eq(1)
                    m.d.sync += [seed.eq(cfg.data), seed_pending.eq(1), step.eq(0),
                                 left.eq(thin)]
                with m.Case(COUPLER_REG_FLAGS):
                    m.d.sync += [flag.eq(0) for flag in flags]

        # Step timing. `t` counts the cycles of the pre-pass, then of the stream; it is 0
        # between steps, so the first cycle of a step is the one that starts it.
        t = Signal(range(max(prepass_cycles, commit_at) + 1))
        start = Signal()                                 # a step starts this cycle
        pre_on, stream_on = Signal(), Signal()           # pre-pass / stream at cycle t
        under = Signal()
        m.d.comb += under.eq(mode == COUPLER_UNDERDAMPED)

        # Stream: issue (read A and x) -> 1 (multiply) -> 2 (sum a word's products) -> 3
        # (accumulate) -> 4 (the gradient is complete: shift it by hs; the base and the
        # overdamped noise added) -> 5 (round, saturate; underdamped kick p1) -> 6
        # (overdamped write; DAMP p1) -> 7 (p2, p1 + p2) -> 8 (underdamped write). Each stage
        # carries its cell; `first` and `last` mark a row's blocks.
        issue = Signal()
        issue_cell = Signal(range(n))
        issue_block = Signal(range(blocks))
        m.d.comb += issue.eq(stream_on & (t < issue_cycles))
        with m.If(issue):
            with m.If(issue_block == blocks - 1):
                m.d.sync += [issue_block.eq(0),
                             issue_cell.eq(Mux(issue_cell == n - 1, 0, issue_cell + 1))]
            with m.Else():
                m.d.sync += issue_block.eq(issue_block + 1)
        v = [issue] + [Signal(name=f"v{k}") for k in range(1, 9)]
        c = [issue_cell] + [Signal(range(n), name=f"c{k}") for k in range(1, 9)]
        first = [issue_block == 0] + [Signal(name=f"first{k}") for k in range(1, 4)]
        last = [issue_block == blocks - 1] + [Signal(name=f"last{k}") for k in range(1, 4)]
        m.d.sync += [c[k].eq(c[k - 1]) for k in range(1, 9)]
        m.d.sync += [v[k].eq(v[k - 1]) for k in range(1, 9) if k != 4]
        m.d.sync += v[4].eq(v[3] & last[3])              # a row's gradient is complete
        m.d.sync += [first[k].eq(first[k - 1]) for k in range(1, 4)]
        m.d.sync += [last[k].eq(last[k - 1]) for k in range(1, 4)]

        # A x: `lanes` multipliers, operands from the A and x memories' read registers, the
        # product registered (no reset: written before it is read in a step, so yosys can
        # put it in the DSP block's own output register); a word's products summed in a
        # register of their own (an adder tree, then the accumulator's adder).
        products = [Signal(signed(sw + cw), name=f"product{k}", reset_less=True)
                    for k in range(lanes)]
        m.d.comb += [a_rd.addr.eq(Cat(issue_block[:block_bits], issue_cell)),
                     xw_rd.addr.eq(Cat(issue_block[:block_bits], bank))]
        with m.If(v[1]):
            for k in range(lanes):
                a_value = a_rd.data[k * cw:(k + 1) * cw].as_signed()
                x_value = xw_rd.data[k * sw:(k + 1) * sw].as_signed()
                m.d.sync += products[k].eq(a_value * x_value)
        # Accumulate -g (its only use, the update, needs -g): a row starts at (b_i << 12)
        # [- k4_i c3_i] and subtracts the products.
        acc = Signal(signed(coupler_acc_width(n, fmt)))
        word_sum = Signal.like(acc, name="word_sum", reset_less=True)
        acc_init = Signal.like(acc)
        b_3 = Signal(state)
        m.d.sync += word_sum.eq(sum(products))
        m.d.comb += b_3.eq(bk_rd.data[:sw])
        if has_quartic:
            m.d.comb += [q_rd.addr.eq(c[2]),
                         acc_init.eq((b_3 << fmt.coef.frac) - Mux(quartic, q_rd.data, 0))]
        else:
            m.d.comb += acc_init.eq(b_3 << fmt.coef.frac)
        with m.If(v[3]):
            m.d.sync += acc.eq(Mux(first[3], acc_init, acc) - word_sum)

        # The update multipliers: operands in, product two cycles later. U1: x^2 and x^3
        # (pre-pass), NOISE xi; U2: k4 x^3 (pre-pass), DAMP p1.
        u1_a, u1_b, u2_a, u2_b = (Signal(signed(16), name=f"u{k}", reset_less=True)
                                  for k in ("1_a", "1_b", "2_a", "2_b"))
        u1_p, u2_p = Signal(signed(32), reset_less=True), Signal(signed(32), reset_less=True)
        m.d.sync += [u1_p.eq(u1_a * u1_b), u2_p.eq(u2_a * u2_b)]

        # Per-cell operands, each from a memory read port addressed the cycle before it is
        # used: x of the pre-pass's cell or of the update's (x_c: stage 4 overdamped, 8
        # underdamped), p (p_c: stage 4 underdamped, 6 overdamped), the noise sample (xi_c:
        # stage 2 overdamped, 5 underdamped).
        write_cell = Signal(range(n))
        x_cell = Signal(range(n + 2))                    # the cell x_c holds next cycle
        x_c, p_c, xi_c = Signal(state), Signal(state), Signal(signed(16))
        stream_state = Signal()
        m.d.comb += [
            write_cell.eq(Mux(under, c[8], c[6])),
            x_rd.addr.eq(Cat(x_cell[:cell_bits], bank ^ commit)),
            p_rd.addr.eq(Cat(Mux(under, c[3], c[5]), bank)),
            beats.read.addr.eq(Mux(idle, self.read.addr, Mux(under, c[4], c[1]))),
            x_c.eq(x_rd.data), p_c.eq(p_rd.data), xi_c.eq(beats.read.data),
        ]
        with m.If(stream_state & ~commit):
            m.d.comb += x_cell.eq(Mux(under, c[7], c[3]))
        # (else cell 0: the pre-pass's first, read in the cycle before a step starts, of
        # the bank the commit makes current)

        if has_quartic:
            # QUARTIC pre-pass, two cycles per cell (cell i from t = 2i), U1 computing a
            # square on even cycles and a cube on odd ones: U1 <- x x (2i); c2 =
            # sat(rnd(.)) (2i + 2); U1 <- c2 x (2i + 3); c3 = sat(rnd(.)) and U2 <- k4 c3
            # (2i + 5); k4 c3 written to q_mem (2i + 7), the last at 2 cells + 5. One
            # rounding unit serves c2 and c3.
            s_half = Signal(range(n + 4))                # t // 2 in the pre-pass
            even = Signal()
            stage_square, stage_c2, stage_cube, stage_c3, stage_store = (
                Signal(name=f"pre_{k}") for k in ("square", "c2", "cube", "c3", "store"))
            m.d.comb += [
                s_half.eq(t[1:]),
                even.eq(~t[0]),
                stage_square.eq(pre_on & even & (t < 2 * n)),
                stage_c2.eq(pre_on & even & (t >= 2) & (t <= 2 * n)),
                stage_cube.eq(pre_on & ~even & (t >= 3) & (t <= 2 * n + 1)),
                stage_c3.eq(pre_on & ~even & (t >= 5) & (t <= 2 * n + 3)),
                stage_store.eq(pre_on & ~even & (t >= 7) & (t <= 2 * n + 5)),
            ]
            # x for cycle t + 1: the square's cell (t + 1) / 2 on even, the cube's
            # (t - 2) / 2 on odd.
            next_half = Signal(range(n + 4))
            m.d.comb += next_half.eq((t + 1)[1:])
            with m.If(pre_on):
                m.d.comb += x_cell.eq(Mux(t[0], next_half, next_half - 1))
            power, power_sat, c2_held = Signal(state), Signal(), Signal(state)
            k4_c = Signal(coef)
            pre_cell = Signal(range(n + 2))              # c2: t/2 - 1, c3: (t - 5)/2
            m.d.comb += [
                Cat(power, power_sat).eq(Cat(*_saturate(_round(u1_p, 0, sfrac), sw))),
                pre_cell.eq(Mux(even, s_half - 1, s_half - 2)),
                # bk_mem answers a cycle later: k4 is used on odd cycles (pre_cell =
                # s_half - 2, s_half = t // 2), so the even cycle before presents the same
                # s_half - 2; in the stream it reads b of the cell in stage 2, used in
                # stage 3.
                bk_rd.addr.eq(Mux(pre_on, s_half - 2, c[2])),
                k4_c.eq(bk_rd.data[sw:]),
                q_wr.addr.eq(s_half - 3), q_wr.data.eq(u2_p), q_wr.en.eq(stage_store),
            ]
            with m.If(stage_square):
                m.d.sync += [u1_a.eq(x_c), u1_b.eq(x_c)]
            with m.If(stage_c2):
                m.d.sync += c2_held.eq(power)
            with m.If(stage_cube):
                m.d.sync += [u1_a.eq(c2_held), u1_b.eq(x_c)]
            with m.If(stage_c3):
                m.d.sync += [u2_a.eq(k4_c), u2_b.eq(power)]
        else:
            m.d.comb += bk_rd.addr.eq(c[2])

        # NOISE xi into U1: overdamped at stage 2 (its product is added at stage 4),
        # underdamped at stage 5 (added at stage 7).
        with m.If(Mux(under, v[5], v[2] & last[2])):
            m.d.sync += [u1_a.eq(noise_amp), u1_b.eq(xi_c)]
        # Stages 4 and 5 in either mode: one shifter, one adder, one saturation. With T =
        # floor(-g 2**(nf - pf) / 2**hs) (nf = 26 the noise product's fraction bits, pf =
        # 22 the gradient's), exactly (a floor of a floor; the shifted-out bits are below
        # the rounding point):
        #   overdamped  x + rnd(-(g << 4) + (NOISE xi << hs), 16 + hs)
        #                 = (T + ((x << 16) + 2**15 + NOISE xi)) >> 16
        #   underdamped p + rnd(-g, 12 + hs) = (T + ((p << 16) + 2**15)) >> 16
        # so the kick p1 = sat(.) and the overdamped x' = sat(.) share them; T (the shift)
        # and the other term (an add) are registered at stage 4, their sum at stage 5.
        noise_frac = fmt.mult.frac + 12
        shifted = Signal(signed(acc.shape().width + 1 + noise_frac - pfrac))
        base_term = Signal(signed(sw + 18), name="base_term")
        m.d.sync += [
            shifted.eq((acc << (noise_frac - pfrac)) >> hshift),
            base_term.eq(Cat(Const(0, noise_frac - sfrac - 1), Const(1, 1),
                             Mux(under, p_c, x_c)).as_signed() + Mux(under, 0, u1_p)),
        ]
        updated, sat5 = _saturate((shifted + base_term) >> (noise_frac - sfrac), sw)
        # Underdamped kick p1, straight into U2 (u2_b is p1).
        p1_7 = Signal(state)
        kick_sat6, kick_sat7, kick_sat8 = Signal(), Signal(), Signal()
        with m.If(v[5] & under):
            m.d.sync += [u2_a.eq(damp), u2_b.eq(updated)]
        m.d.sync += [kick_sat6.eq(sat5), kick_sat7.eq(kick_sat6), kick_sat8.eq(kick_sat7),
                     p1_7.eq(u2_b)]
        # Underdamped p2 = sat(rnd((DAMP p1 << 2) + NOISE xi, 16)) and p1 + p2 (stage 7,
        # registered), then x' = sat(x + rnd(p1 + p2, hs + 1)) (stage 8), with
        # rnd(v, hs + 1) = rnd(floor(v / 2**hs), 1) and x + rnd(d, 1) = (2 x + 1 + d) >> 1.
        shift = noise_frac - (fmt.mult.frac + sfrac)
        p2_value, sat_p2_value = _saturate(
            _round((u2_p << shift) + u1_p, 0, noise_frac - sfrac), sw)
        p2, sat_p2 = Signal(state), Signal()
        p_sum = Signal(signed(sw + 1))
        m.d.sync += [p2.eq(p2_value), sat_p2.eq(sat_p2_value), p_sum.eq(p1_7 + p2_value)]
        x_ud, sat_x = _saturate((Cat(Const(1, 1), x_c).as_signed() + (p_sum >> hshift)) >> 1,
                                sw)
        x_next, next_sat, writing = Signal(state), Signal(), Signal()
        # The overdamped x' is registered (`updated_6`) and written at stage 6: its adder
        # and saturation end in a register instead of the memory's write port (stage 6 is
        # idle in that mode; the step still ends at the underdamped write, stage 8).
        updated_6 = Signal(state)
        m.d.sync += updated_6.eq(updated)
        m.d.comb += [writing.eq(Mux(under, v[8], v[6])),
                     x_next.eq(Mux(under, x_ud, updated_6)),
                     next_sat.eq(Mux(under, kick_sat8 | sat_p2 | sat_x, kick_sat6))]

        # Sticky flags: the pre-pass's c2 or c3 or the update's, one cell a cycle, through
        # a register (`raised`, `raised_cell`): the flag is set the cycle after.
        flag_cell, flag_now = Signal(range(n + 2)), Signal()
        if has_quartic:
            m.d.comb += [flag_cell.eq(Mux(pre_on, pre_cell, write_cell)),
                         flag_now.eq(Mux(pre_on, (stage_c2 | stage_c3) & power_sat,
                                         writing & next_sat))]
        else:
            m.d.comb += [flag_cell.eq(write_cell), flag_now.eq(writing & next_sat)]
        raised, raised_cell = Signal(), Signal(range(n + 2))
        m.d.sync += [raised.eq(flag_now), raised_cell.eq(flag_cell)]
        flags_raised = Signal(n)                         # flags | the raise in the register
        for i in range(n):
            hit = raised & (raised_cell == i)
            m.d.comb += flags_raised[i].eq(flags[i] | hit)
            with m.If(hit):
                m.d.sync += flags[i].eq(1)

        # Write x' and p' to the other bank (overdamped: p unchanged, at stage 6;
        # underdamped: p2, at stage 8), or a configured x or p to the current one.
        x_data, p_data = Signal(state), Signal(state)
        wr_cell, wr_bank = Signal(range(n)), Signal()
        m.d.comb += [
            x_data.eq(Mux(writing, x_next, word)),
            p_data.eq(Mux(writing, Mux(under, p2, p_c), word)),
            wr_cell.eq(Mux(writing, write_cell, index[:cell_bits])),
            wr_bank.eq(bank ^ writing),
            x_wr.addr.eq(Cat(wr_cell, wr_bank)), x_wr.data.eq(x_data),
            x_wr.en.eq(writing | write_x),
            p_wr.addr.eq(Cat(wr_cell, wr_bank)), p_wr.data.eq(p_data),
            p_wr.en.eq(writing | write_p),
            xw_wr.addr.eq(Cat(wr_cell[lane_bits:lane_bits + block_bits], wr_bank)),
            xw_wr.data.eq(Cat(*([x_data] * lanes))),
            xw_wr.en.eq(Mux(writing | write_x, Const(1, lanes) << wr_cell[:lane_bits], 0)),
        ]

        # The sample offered is read through `read` (x and p of the current bank: the
        # commit that would swap it waits until the sample is taken). Its flags: those at
        # the commit, and from the cycle after it the last cell's too (in that cycle still
        # in the register, then in the snapshot).
        fresh = Signal()                                 # a sample was offered last cycle
        m.d.comb += [xs_rd.addr.eq(Cat(self.read.addr, bank)),
                     ps_rd.addr.eq(Cat(self.read.addr, bank)),
                     self.read.data.x.eq(xs_rd.data), self.read.data.p.eq(ps_rd.data),
                     self.read.data.xi.eq(beats.read.data),
                     self.samples.valid.eq(emit)]
        m.d.sync += fresh.eq(0)
        with m.If(fresh):
            m.d.sync += sample_flags.eq(flags_raised)    # now complete
        with m.If(self.samples.valid & self.samples.ready):
            m.d.sync += emit.eq(0)

        with m.FSM() as fsm:
            with m.State("START"):
                # One cycle after reset: the state register changes once, so that every
                # combinational block of the Verilog is evaluated (Icarus does not run an
                # `always @*` block at time 0).
                m.next = "IDLE"
            with m.State("IDLE"):
                m.d.comb += [idle.eq(1), self.config.ready.eq(1),
                             self.run.ready.eq(~self.config.valid)]
                with m.If(self.run.valid & (self.run.payload != 0)):
                    m.d.sync += remaining.eq(self.run.payload)
                    m.next = "NEXT"
            with m.State("NEXT"):
                # Between steps: start the next once its noise beat is ready (a sample may
                # be offered meanwhile); after the last, wait for the sample to be taken.
                m.d.comb += self.running.eq(1)
                with m.If(remaining == 0):
                    with m.If(~emit | self.samples.ready):
                        m.next = "IDLE"
                with m.Elif(beats.beat.valid):
                    m.d.comb += start.eq(1)
                    m.d.sync += t.eq(1)
                    if has_quartic:
                        with m.If(quartic):
                            m.d.comb += pre_on.eq(1)
                            m.next = "PRE"
                        with m.Else():
                            m.d.comb += stream_on.eq(1)
                            m.next = "STREAM"
                    else:
                        m.d.comb += stream_on.eq(1)
                        m.next = "STREAM"
            if has_quartic:
                with m.State("PRE"):
                    m.d.comb += [self.running.eq(1), pre_on.eq(1)]
                    m.d.sync += t.eq(t + 1)
                    with m.If(t == prepass_cycles - 1):
                        m.d.sync += t.eq(0)
                        m.next = "STREAM"
            with m.State("STREAM"):
                m.d.comb += [self.running.eq(1), stream_on.eq(1), stream_state.eq(1)]
                with m.If(t != commit_at):
                    m.d.sync += t.eq(t + 1)
                with m.Elif(~emit | self.samples.ready):
                    # The commit: the banks swap, the beat is used up, a sample is offered.
                    m.d.comb += commit.eq(1)
                    m.d.sync += [t.eq(0), bank.eq(~bank),
                                 remaining.eq(Mux(self.stop, 0, remaining - 1))]
                    with m.If(left == 1):
                        m.d.sync += [left.eq(thin), emit.eq(1), fresh.eq(1),
                                     sample_flags.eq(flags_raised)]
                    with m.Else():
                        m.d.sync += left.eq(left - 1)
                    m.next = "NEXT"
        del fsm

        out = self.samples.payload
        m.d.comb += [out.seq.eq(step),
                     out.flags.eq(sample_flags | Mux(fresh, flags_raised, 0)),
                     self.noise.payload.eq(step)]
        return m
