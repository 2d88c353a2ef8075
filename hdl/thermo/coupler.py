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

All cells' gradients use the state at the start of the step (x' goes to a shadow register
until the step ends). The golden model `tritherm.sim.golden.CouplerModel` does exactly this.

Schedule: cell by cell, the row ``A_i.`` is read from on-chip memory (words of
``multipliers`` entries) and multiplied with ``multipliers`` x values per cycle in a
two-stage pipeline (registered operands, registered products: yosys maps each to an
SB_MAC16 or MULT18X18D), then one more multiplier does the per-cell products in sequence
(x^2, x^3, k4 x^3 when QUARTIC, NOISE xi, DAMP p1). Cycles per step:
``cells * (cells / multipliers + 6 [+ 7 quartic]) + 2``, plus one per emitted sample
(`tritherm.formats.coupler_cycles_per_step`). DSPs: ``multipliers + 1``, plus the ICDF
shaper's interpolation multiply in the noise source.

Control: write the configuration (`config`, a stream of address/data, accepted only while
stopped), then ask for a number of steps on `run` (accepted while stopped). ``stop`` high at
the end of a step ends the run there. After every THIN-th step the state is offered on
`samples` (sequence number = steps since the seed was written, flags, x, p); the dynamics
wait while a sample is not taken, so none is dropped. The seed register resets to 0 and is
applied at reset; writing SEED restarts the noise streams and the step count at 0.

Parameters
----------
cells : int
    Number of cells (2..64); 8 is the SPU's.
multipliers : int
    MAC units for A x: a power of two that divides ``cells``.
shaper, rounds, noise_unroll, noise_pipelined :
    The noise source's Gaussian shaper and Threefry configuration (`NoiseSource`). The
    default, an iterative Threefry with 4 rounds per cycle, makes a block every 5 cycles:
    enough for a step of any size (a step needs ``cells / 2`` ICDF blocks and takes more
    than ``6 cells`` cycles) at a fraction of the pipelined core's ~3000 flip-flops.
fmt : CouplerFormat

Attributes
----------
config : In(stream.Signature(StructLayout({"addr": 16, "data": 32})))
    Configuration writes (map: `tritherm.formats.coupler_address`).
run : In(stream.Signature(32))
    Steps to run (0 does nothing).
stop : In(1)
    Sampled at the end of every step: end the run there.
running : Out(1)
step : Out(32)
    Steps since the seed was written.
saturated : Out(cells)
    Sticky saturation flag per cell (cleared by writing the FLAGS register).
samples : Out(stream.Signature(StructLayout({"seq": 32, "flags": cells, "x": cells x
    signed(16), "p": cells x signed(16)})))
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, ResetInserter, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tritherm.formats import (COUPLER_ADDR_BITS, COUPLER_CELL_BITS, COUPLER_DATA_BITS,
                              COUPLER_FORMAT, COUPLER_INDEX_BITS, COUPLER_MAX_CELLS,
                              COUPLER_REGION_A, COUPLER_REGION_B, COUPLER_REGION_K4,
                              COUPLER_REGION_P, COUPLER_REGION_SCALAR, COUPLER_REGION_X,
                              COUPLER_REG_DAMP, COUPLER_REG_FLAGS, COUPLER_REG_HSHIFT,
                              COUPLER_REG_MODE, COUPLER_REG_NOISE, COUPLER_REG_QUARTIC,
                              COUPLER_REG_SEED, COUPLER_REG_THIN, COUPLER_SEQ_BITS,
                              COUPLER_UNDERDAMPED, NOISE_SEED_BITS, SHAPER_SAMPLES,
                              THREEFRY_ROUNDS, CouplerFormat, check_rounds, coupler_acc_width)

from ..noise import NoiseSource, check_threefry_config

__all__ = ["Coupler", "config_layout", "sample_layout"]


def config_layout() -> data.StructLayout:
    return data.StructLayout({"addr": unsigned(COUPLER_ADDR_BITS),
                              "data": unsigned(COUPLER_DATA_BITS)})


def sample_layout(cells: int, fmt: CouplerFormat = COUPLER_FORMAT) -> data.StructLayout:
    """One sample: ``seq`` (low bits), ``flags``, ``x``, ``p`` (element 0 lowest)."""
    state = signed(fmt.state.width)
    return data.StructLayout({"seq": unsigned(COUPLER_SEQ_BITS), "flags": unsigned(cells),
                              "x": data.ArrayLayout(state, cells),
                              "p": data.ArrayLayout(state, cells)})


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
                 noise_pipelined: bool = False, fmt: CouplerFormat = COUPLER_FORMAT):
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
            check_threefry_config(rounds, noise_unroll, noise_pipelined)
            if not isinstance(fmt, CouplerFormat):
                raise ValueError(f"fmt must be a CouplerFormat, got {fmt!r}")
        except ValueError:
            self._MustUse__silence = True
            raise
        self.cells, self.multipliers = cells, multipliers
        self.shaper, self.rounds, self.fmt = shaper, rounds, fmt
        self.noise_unroll, self.noise_pipelined = noise_unroll, noise_pipelined
        super().__init__({
            "config": In(stream.Signature(config_layout())),
            "run": In(stream.Signature(32)),
            "stop": In(1),
            "running": Out(1),
            "step": Out(COUPLER_SEQ_BITS),
            "saturated": Out(cells),
            "samples": Out(stream.Signature(sample_layout(cells, fmt))),
        })

    @property
    def dsp_count(self) -> int:
        """Multipliers the core instantiates: ``multipliers`` MACs + the update one."""
        return self.multipliers + 1

    def elaborate(self, platform):
        m = Module()
        n, lanes, fmt = self.cells, self.multipliers, self.fmt
        blocks = n // lanes                              # MAC cycles per row
        block_bits = (blocks - 1).bit_length()           # bits of a block index
        lane_bits = (lanes - 1).bit_length()
        sw, cw = fmt.state.width, fmt.coef.width
        state, coef, mult = signed(sw), signed(cw), signed(fmt.mult.width)
        pfrac = fmt.product_frac

        # Noise: one stream per cell; restarted by a SEED write.
        reseed = Signal()
        noise = NoiseSource(n, self.shaper, self.rounds, self.noise_unroll,
                            self.noise_pipelined)
        m.submodules.noise = ResetInserter(reseed)(noise)

        # Registers.
        x = Array(Signal(state, name=f"x{i}") for i in range(n))
        x_new = [Signal(state, name=f"x_new{i}") for i in range(n)]
        p = Array(Signal(state, name=f"p{i}") for i in range(n))
        b = Array(Signal(state, name=f"b{i}") for i in range(n))
        k4 = Array(Signal(coef, name=f"k4_{i}") for i in range(n))
        flags = [Signal(name=f"flag{i}") for i in range(n)]
        mode, quartic = Signal(), Signal()
        hshift = Signal(fmt.hshift_bits)
        damp, noise_amp = Signal(mult), Signal(mult)
        thin = Signal(16, init=1)
        seed = Signal(NOISE_SEED_BITS)
        seed_pending = Signal(init=1)
        step = Signal(COUPLER_SEQ_BITS)
        left = Signal(16, init=1)
        remaining = Signal(32)

        m.d.comb += [self.step.eq(step), self.saturated.eq(Cat(*flags))]

        # The seed goes to the noise source once after reset and after every SEED write.
        m.d.comb += [noise.seed.valid.eq(seed_pending), noise.seed.payload.eq(seed)]
        with m.If(noise.seed.valid & noise.seed.ready):
            m.d.sync += seed_pending.eq(0)

        # A: row i, block jb at address Cat(jb, i); lane l of a word is column jb*lanes + l.
        m.submodules.a_mem = a_mem = Memory(shape=unsigned(lanes * cw),
                                            depth=n << block_bits, init=[])
        a_wr = a_mem.write_port(granularity=cw)
        a_rd = a_mem.read_port()

        # Configuration writes (only while stopped).
        cfg = self.config.payload
        write = Signal()
        m.d.comb += write.eq(self.config.valid & self.config.ready)
        region = cfg.addr[COUPLER_INDEX_BITS:]
        index = cfg.addr[:COUPLER_INDEX_BITS]
        row, column = index[COUPLER_CELL_BITS:], index[:COUPLER_CELL_BITS]
        word = cfg.data[:sw].as_signed()
        with m.If(write & (region == COUPLER_REGION_A) & (row < n) & (column < n)):
            m.d.comb += [
                a_wr.addr.eq(Cat(column[lane_bits:lane_bits + block_bits],
                                 row[:(n - 1).bit_length()])),
                a_wr.data.eq(Cat(*([cfg.data[:cw]] * lanes))),
                a_wr.en.eq(Const(1, lanes) << column[:lane_bits]),
            ]
        for region_id, target in ((COUPLER_REGION_B, b), (COUPLER_REGION_K4, k4),
                                  (COUPLER_REGION_X, x), (COUPLER_REGION_P, p)):
            for i in range(n):
                with m.If(write & (region == region_id) & (index == i)):
                    m.d.sync += target[i].eq(word)
        with m.If(write & (region == COUPLER_REGION_SCALAR)):
            with m.Switch(index):
                with m.Case(COUPLER_REG_MODE):
                    m.d.sync += mode.eq(cfg.data[0])
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

        # Datapath.
        cell = Signal(range(n))
        count = Signal(range(blocks + 2))
        phase = Signal(3)
        acc = Signal(signed(coupler_acc_width(n, fmt)))
        # A x: `lanes` multipliers, operands registered (memory output, x_op), product
        # registered; `issue` -> `v1` (multiply) -> `v2` (accumulate).
        issue, v1, v2 = Signal(), Signal(), Signal()
        x_op = [Signal(state, name=f"x_op{k}") for k in range(lanes)]
        products = [Signal(signed(sw + cw), name=f"product{k}") for k in range(lanes)]
        m.d.comb += a_rd.addr.eq(Cat(count[:block_bits], cell))
        m.d.sync += [v1.eq(issue), v2.eq(v1)]
        with m.If(issue):
            for k in range(lanes):
                column_values = Array(x[jb * lanes + k] for jb in range(blocks))
                m.d.sync += x_op[k].eq(column_values[count[:max(block_bits, 1)]]
                                       if blocks > 1 else x[k])
        with m.If(v1):
            for k in range(lanes):
                a_value = a_rd.data[k * cw:(k + 1) * cw].as_signed()
                m.d.sync += products[k].eq(a_value * x_op[k])
        # The update multiplier: operands in, product two cycles later.
        u_a, u_b = Signal(signed(16)), Signal(signed(16))
        u_p = Signal(signed(32))
        m.d.sync += u_p.eq(u_a * u_b)
        noise_product = Signal(signed(32))
        p1 = Signal(state)

        # Everything a cell's update needs, computed once (Amaranth lowers an expression
        # again at every use, so each is given a name before the per-cell assignments).
        x_i, p_i, xi_i = Signal(state), Signal(state), Signal(signed(16))
        b_i, k4_i = Signal(state), Signal(coef)
        m.d.comb += [x_i.eq(x[cell]), p_i.eq(p[cell]), xi_i.eq(noise.samples.payload[cell]),
                     b_i.eq(b[cell]), k4_i.eq(k4[cell])]
        # QUARTIC: x^2 or x^3 from the update multiplier, rounded and saturated.
        power, power_sat = Signal(state), Signal()
        m.d.comb += Cat(power, power_sat).eq(Cat(*_saturate(_round(u_p, 0, fmt.state.frac), sw)))
        # UPDATE phase 0 (underdamped kick): p1 = sat(p + rnd(-g, 12 + hs)).
        kicked, kicked_sat = Signal(state), Signal()
        m.d.comb += Cat(kicked, kicked_sat).eq(Cat(*_saturate(
            p_i + _round(-acc, hshift, pfrac - fmt.state.frac), sw)))
        # UPDATE phase 3: the new x (and p), either mode.
        noise_frac = fmt.mult.frac + 12
        total = -(acc << (noise_frac - pfrac)) + (noise_product << hshift)
        x_od, sat_od = _saturate(x_i + _round(total, hshift, noise_frac - fmt.state.frac), sw)
        shift = noise_frac - (fmt.mult.frac + fmt.state.frac)
        p2 = Signal(state)
        p2_value, sat_p2 = _saturate(
            _round((u_p << shift) + noise_product, 0, noise_frac - fmt.state.frac), sw)
        m.d.comb += p2.eq(p2_value)
        x_ud, sat_x = _saturate(x_i + _round(p1 + p2, hshift, 1), sw)
        under = Signal()
        x_next, next_sat = Signal(state), Signal()
        m.d.comb += [under.eq(mode == COUPLER_UNDERDAMPED),
                     x_next.eq(Mux(under, x_ud, x_od)),
                     next_sat.eq(Mux(under, sat_p2 | sat_x, sat_od))]

        saturated_now = Signal()
        with m.If(saturated_now):
            for i in range(n):
                with m.If(cell == i):
                    m.d.sync += flags[i].eq(1)

        with m.FSM():
            with m.State("START"):
                # One cycle after reset: the state register changes once, so that every
                # combinational block of the Verilog is evaluated (Icarus does not run an
                # `always @*` block at time 0).
                m.next = "IDLE"
            with m.State("IDLE"):
                m.d.comb += [self.config.ready.eq(1), self.run.ready.eq(1)]
                with m.If(self.run.valid & (self.run.payload != 0)):
                    m.d.sync += remaining.eq(self.run.payload)
                    m.next = "NOISE"
            with m.State("NOISE"):
                m.d.comb += self.running.eq(1)
                with m.If(noise.samples.valid):
                    m.d.sync += [cell.eq(0), count.eq(0)]
                    m.next = "MAC"
            with m.State("MAC"):
                m.d.comb += [self.running.eq(1), issue.eq(count < blocks)]
                m.d.sync += count.eq(count + 1)
                with m.If(count == 0):
                    m.d.sync += acc.eq(-(b_i << fmt.coef.frac))
                with m.Elif(v2):
                    m.d.sync += acc.eq(acc + sum(products))
                with m.If(count == blocks + 1):
                    m.d.sync += phase.eq(0)
                    with m.If(quartic):
                        m.next = "QUARTIC"
                    with m.Else():
                        m.next = "UPDATE"
            with m.State("QUARTIC"):
                m.d.comb += self.running.eq(1)
                m.d.sync += phase.eq(phase + 1)
                with m.Switch(phase):
                    with m.Case(0):
                        m.d.sync += [u_a.eq(x_i), u_b.eq(x_i)]
                    with m.Case(2, 4):
                        m.d.comb += saturated_now.eq(power_sat)
                        with m.If(phase == 2):
                            m.d.sync += [u_a.eq(power), u_b.eq(x_i)]
                        with m.Else():
                            m.d.sync += [u_a.eq(k4_i), u_b.eq(power)]
                    with m.Case(6):
                        m.d.sync += [acc.eq(acc + u_p), phase.eq(0)]
                        m.next = "UPDATE"
            with m.State("UPDATE"):
                m.d.comb += self.running.eq(1)
                m.d.sync += phase.eq(phase + 1)
                with m.Switch(phase):
                    with m.Case(0):
                        m.d.comb += saturated_now.eq(kicked_sat & under)
                        m.d.sync += [p1.eq(kicked), u_a.eq(noise_amp), u_b.eq(xi_i)]
                    with m.Case(1):
                        m.d.sync += [u_a.eq(damp), u_b.eq(p1)]
                    with m.Case(2):
                        m.d.sync += noise_product.eq(u_p)
                    with m.Case(3):
                        m.d.comb += saturated_now.eq(next_sat)
                        for i in range(n):
                            with m.If(cell == i):
                                m.d.sync += x_new[i].eq(x_next)
                                with m.If(under):
                                    m.d.sync += p[i].eq(p2)
                        m.d.sync += phase.eq(0)
                        with m.If(cell == n - 1):
                            m.next = "END"
                        with m.Else():
                            m.d.sync += [cell.eq(cell + 1), count.eq(0)]
                            m.next = "MAC"
            with m.State("END"):
                m.d.comb += [self.running.eq(1), noise.samples.ready.eq(1)]
                m.d.sync += [x[i].eq(x_new[i]) for i in range(n)]
                m.d.sync += [step.eq(step + 1),
                             remaining.eq(Mux(self.stop, 0, remaining - 1))]
                more = ~self.stop & (remaining != 1)
                with m.If(left == 1):
                    m.d.sync += left.eq(thin)
                    m.next = "EMIT"
                with m.Else():
                    m.d.sync += left.eq(left - 1)
                    with m.If(more):
                        m.next = "NOISE"
                    with m.Else():
                        m.next = "IDLE"
            with m.State("EMIT"):
                m.d.comb += [self.running.eq(1), self.samples.valid.eq(1)]
                with m.If(self.samples.ready):
                    with m.If(remaining != 0):
                        m.next = "NOISE"
                    with m.Else():
                        m.next = "IDLE"

        out = self.samples.payload
        m.d.comb += [out.seq.eq(step), out.flags.eq(Cat(*flags))]
        m.d.comb += [out.x[i].eq(x[i]) for i in range(n)]
        m.d.comb += [out.p[i].eq(p[i]) for i in range(n)]
        return m
