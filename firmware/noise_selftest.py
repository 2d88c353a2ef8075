"""A self-checking noise bitstream: a fixed-seed check against golden samples, then entropy.

`NoiseSelftestCore` wires a `SeedSource` (ring-oscillator entropy, or a fixed seed) to a
`NoiseSource` (``streams`` cells, one shaper). After reset it runs in two phases:

1. **check**: the seed source offers ``check_seed`` (a fixed seed), and the first
   ``check_steps`` beats of the noise source (``check_steps * streams`` samples) are
   compared with a ROM of ``tritherm.sim.golden.noise_steps(check_seed, ...)``, computed
   when the design is elaborated. ``passed`` lights when every beat matched; ``failed``
   latches on a mismatch or when no beat arrives for `STALL_LIMIT` cycles.
2. **run**: the seed and noise sources are reset together (one cycle) and reseeded, now from
   the ring oscillators (a fresh seed on every power-up or reset), unless ``run_seed`` fixes
   it (a reproducible run) or ``fixed`` is high at reset (a button, on a board). The noise
   then runs for ever; ``noise_bit`` shows the sign of cell 0's latest sample, latched every
   ``display_period`` cycles (so an LED blinks at random, readable by eye). ``failed`` also
   latches if the entropy source gives no seed within `ENTROPY_TIMEOUT` cycles (stuck rings).

Ring oscillators cannot be simulated: built with ``raw_input=True`` the core takes the raw
entropy bit on its ``raw`` input instead (`SeedSource`'s injectable source). `NoiseSelftest`
puts the core on a board's LEDs: pass, fail, and the noise bit on the heartbeat LED.
"""

from amaranth.hdl import Elaboratable, Module, ResetInserter, Signal, Value, unsigned
from amaranth.lib import io, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tritherm.formats import NOISE_FORMAT, NOISE_SEED_BITS, THREEFRY_ROUNDS
from tritherm.hdl.noise import NoiseSource, SeedSource
from tritherm.sim.verify.cycle import pack_fields

from .selftest import drive_leds
from tritherm.sim.golden import noise_steps

__all__ = ["NoiseSelftestCore", "NoiseSelftest", "noise_rom", "STALL_LIMIT",
           "ENTROPY_TIMEOUT", "DEFAULT_CHECK_SEED", "RING_LENGTHS", "NOISE_SELFTEST_CONFIG"]

#: Cycles without a beat, in the check phase, that count as a hang (an iterative
#: Threefry-2x32 with 8 streams needs 160 cycles per beat).
STALL_LIMIT = 4095
#: Cycles the run phase waits for an entropy seed before it reports a stuck source (von
#: Neumann keeps about a quarter of the raw bits: 32 bits take a few hundred cycles).
ENTROPY_TIMEOUT = 1 << 16
#: The seed of the check phase.
DEFAULT_CHECK_SEED = 0x5EED_2024
#: Ring lengths (inverters per ring): odd, distinct, so the rings drift apart.
RING_LENGTHS = (5, 7, 11, 13)
#: Shaper and Threefry configuration per family for the board self-test: the iCE40UP5K
#: gets the CLT shaper (no multiplier) and the small iterative core (4 rounds per cycle):
#: 2439 logic cells (46%), 16 MHz, against 3421 (65%), 17.6 MHz with the ICDF shaper
#: (both meet 12 MHz); the ECP5 gets the ICDF shaper (its multiply in a MULT18X18D) and
#: the same small core, which keeps the build short.
NOISE_SELFTEST_CONFIG = {
    "ice40": dict(shaper="clt", unroll=4, pipelined=False),
    "ecp5": dict(shaper="icdf", unroll=4, pipelined=False),
}


def noise_rom(seed: int, streams: int, steps: int, shaper: str,
              rounds: int = THREEFRY_ROUNDS) -> list[int]:
    """The check ROM: word t packs step t of cells 0..streams-1 (cell 0 lowest),
    ``NOISE_FORMAT.width`` bits each, two's complement."""
    samples = noise_steps(seed, streams, steps, shaper, rounds)
    return [pack_fields(row, NOISE_FORMAT.width) for row in samples]


class NoiseSelftestCore(wiring.Component):
    """Checks a `NoiseSource` against golden samples under a fixed seed, then runs it on
    an entropy seed. See the module docstring.

    Parameters
    ----------
    streams : int
        Noise cells (1..256).
    shaper : str
        ``"clt"`` or ``"icdf"``.
    rounds, unroll, pipelined :
        The Threefry-2x32 configuration.
    check_seed : int
        Seed of the check phase (32 bits).
    check_steps : int
        Beats compared in the check phase (``check_steps * streams`` samples).
    rom : list of int, optional
        The check ROM; `noise_rom` by default (a test corrupts it to see the check fail).
    run_seed : int, optional
        Fix the run phase's seed (reproducible); None: entropy, unless ``fixed`` is high.
    raw_input : bool
        True: no ring oscillators; the raw entropy bit comes from the ``raw`` input.
    lengths : tuple of int
        Ring lengths.
    display_period : int
        Cycles between updates of ``noise_bit``.

    Attributes
    ----------
    fixed : In(1)
        High in the cycle after the run phase starts: the run phase uses ``run_seed`` (or
        ``check_seed`` when ``run_seed`` is None) instead of entropy.
    raw : In(1)
        Only with ``raw_input``: one raw entropy bit per cycle.
    passed, failed : Out(1)
        The check phase's verdict (``failed`` is sticky and also covers a stall or a
        stuck entropy source).
    running : Out(1)
        The run phase has its seed and is producing noise.
    seed : Out(32)
        The seed in use (the check seed, then the run seed once ``running``).
    samples_seen : Out(32)
        Beats taken since reset (wraps).
    noise_bit : Out(1)
        Sign of cell 0's latest sample, latched every ``display_period`` cycles.
    noise : NoiseSource
    seeds : SeedSource
        The two cores (both reset by the switch from the check to the run phase).
    """

    def __init__(self, streams: int = 8, shaper: str = "icdf", rounds: int = THREEFRY_ROUNDS,
                 unroll: int = 1, pipelined: bool = True,
                 check_seed: int = DEFAULT_CHECK_SEED, check_steps: int = 64,
                 rom: list[int] | None = None, run_seed: int | None = None,
                 raw_input: bool = False, lengths=RING_LENGTHS,
                 display_period: int = 1 << 22):
        if not isinstance(check_steps, int) or not 1 <= check_steps <= 4096:
            raise ValueError(f"check_steps must be an integer in [1, 4096], got {check_steps!r}")
        for name, value in (("check_seed", check_seed), ("run_seed", run_seed)):
            if value is not None and not 0 <= value < 1 << NOISE_SEED_BITS:
                raise ValueError(f"{name} must be in [0, 2**{NOISE_SEED_BITS}), got {value!r}")
        if display_period < 1:
            raise ValueError(f"display_period must be at least 1, got {display_period!r}")
        self.noise = NoiseSource(streams, shaper, rounds, unroll, pipelined)
        self.streams, self.shaper, self.rounds = streams, shaper, rounds
        self.check_seed, self.check_steps, self.run_seed = check_seed, check_steps, run_seed
        self.rom = list(rom) if rom is not None else noise_rom(check_seed, streams,
                                                              check_steps, shaper, rounds)
        if len(self.rom) != check_steps:
            raise ValueError(f"rom must have check_steps={check_steps} words, "
                             f"got {len(self.rom)}")
        self.raw_input, self.lengths = raw_input, tuple(lengths)
        self.seeds = SeedSource(NOISE_SEED_BITS, self.lengths, raw_input=raw_input)
        self.display_period = display_period
        members = {
            "fixed": In(1),
            "passed": Out(1), "failed": Out(1), "running": Out(1),
            "seed": Out(NOISE_SEED_BITS), "samples_seen": Out(32), "noise_bit": Out(1),
        }
        if raw_input:
            members["raw"] = In(1)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        reseed = Signal()
        noise, seeds = self.noise, self.seeds
        m.submodules.noise = ResetInserter(reseed)(noise)
        m.submodules.seeds = ResetInserter(reseed)(seeds)
        wiring.connect(m, seeds.seed, noise.seed)
        if self.raw_input:
            m.d.comb += seeds.raw.eq(self.raw)

        checking = Signal(init=1)
        run_fixed = self.check_seed if self.run_seed is None else self.run_seed
        m.d.comb += [
            seeds.use_fixed.eq(checking | self.fixed | (self.run_seed is not None)),
        ]
        with m.If(checking):
            m.d.comb += seeds.fixed_seed.eq(self.check_seed)
        with m.Else():
            m.d.comb += seeds.fixed_seed.eq(run_fixed)
        with m.If(seeds.seed.valid & seeds.seed.ready):
            m.d.sync += self.seed.eq(seeds.seed.payload)
            with m.If(~checking):
                m.d.sync += self.running.eq(1)

        m.submodules.expected = rom = Memory(
            shape=unsigned(len(Value.cast(noise.samples.payload))), depth=self.check_steps,
            init=self.rom)
        read = rom.read_port()
        take = noise.samples.valid & noise.samples.ready
        pointer = Signal(range(self.check_steps + 1))
        m.d.comb += [noise.samples.ready.eq(1), read.addr.eq(pointer + take)]

        mismatch, stalled, stuck = Signal(), Signal(), Signal()
        with m.If(take):
            m.d.sync += self.samples_seen.eq(self.samples_seen + 1)
        with m.If(checking & take):
            m.d.sync += pointer.eq(pointer + 1)
            with m.If(Value.cast(noise.samples.payload) != read.data):
                m.d.sync += mismatch.eq(1)
            with m.If(pointer == self.check_steps - 1):
                m.d.sync += checking.eq(0)
                m.d.comb += reseed.eq(1)
                with m.If(Value.cast(noise.samples.payload) == read.data):
                    m.d.sync += self.passed.eq(~mismatch)

        # Watchdogs: a beat in the check phase, a seed in the run phase.
        idle = Signal(range(max(STALL_LIMIT, ENTROPY_TIMEOUT) + 1))
        with m.If(take | reseed | self.running):
            m.d.sync += idle.eq(0)
        with m.Elif(checking & (idle == STALL_LIMIT)):
            m.d.sync += stalled.eq(1)
        with m.Elif(~checking & (idle == ENTROPY_TIMEOUT)):
            m.d.sync += stuck.eq(1)
        with m.Else():
            m.d.sync += idle.eq(idle + 1)
        m.d.comb += self.failed.eq(mismatch | stalled | stuck)
        with m.If(self.failed):
            m.d.sync += self.passed.eq(0)

        # What an LED can show: the sign of cell 0, latched now and then.
        latest = Signal()
        with m.If(take):
            m.d.sync += latest.eq(noise.samples.payload[0][-1])
        tick = Signal(range(self.display_period))
        with m.If(tick == self.display_period - 1):
            m.d.sync += [tick.eq(0), self.noise_bit.eq(latest)]
        with m.Else():
            m.d.sync += tick.eq(tick + 1)
        return m


class NoiseSelftest(Elaboratable):
    """Board top: `NoiseSelftestCore` on the board's pass and fail LEDs, with the noise bit
    (sign of cell 0, twice a second or so) on its heartbeat LED.

    Parameters
    ----------
    board : tritherm.boards.catalog.Board
    streams : int
        Noise cells (8).
    shaper, unroll, pipelined :
        Shaper and Threefry-2x32 configuration; `NOISE_SELFTEST_CONFIG` for the board's
        family by default.
    run_seed : int, optional
        Fix the run phase's seed (reproducible noise); entropy by default.
    check_steps, check_seed :
        The check phase (64 beats = 512 samples, `DEFAULT_CHECK_SEED`).
    fixed_button : str, optional
        An amaranth-boards button resource (for example ``"button"`` on the iCEBreaker,
        ``"button_fire"`` on the ULX3S); held at reset, the run phase reuses the fixed seed.
    raw_input : bool
        For simulation: no rings; the core's ``raw`` input takes the raw entropy bits.
    """

    def __init__(self, board, streams: int = 8, shaper: str | None = None,
                 unroll: int | None = None, pipelined: bool | None = None,
                 run_seed: int | None = None, check_steps: int = 64,
                 check_seed: int = DEFAULT_CHECK_SEED, fixed_button: str | None = None,
                 raw_input: bool = False, rom: list[int] | None = None):
        self.board = board
        config = dict(NOISE_SELFTEST_CONFIG[board.family])
        if shaper is not None:
            config["shaper"] = shaper
        if unroll is not None:
            config["unroll"] = unroll
        if pipelined is not None:
            config["pipelined"] = pipelined
        self.fixed_button = fixed_button
        self.core = NoiseSelftestCore(
            streams, config["shaper"], THREEFRY_ROUNDS, config["unroll"], config["pipelined"],
            check_seed=check_seed, check_steps=check_steps, rom=rom, run_seed=run_seed,
            raw_input=raw_input, display_period=max(1, int(board.clock_hz) // 2))

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        if self.fixed_button is not None:
            button = platform.request(self.fixed_button, 0, dir="-")
            m.submodules.button = buffer = io.Buffer("i", button)
            m.d.comb += core.fixed.eq(buffer.i)
        drive_leds(m, platform, ((self.board.pass_led, core.passed),
                                 (self.board.fail_led, core.failed),
                                 (self.board.heartbeat_led, core.noise_bit)))
        return m


