"""A self-checking bitstream: the ternary array against golden vectors held in on-chip ROM.

The golden model computes a set of jobs (`extreme_jobs` and `random_jobs`) when the design
is elaborated; ROMs hold their weight bytes, activation beats and expected result words.
`SelftestCore` loads each job's weights through the array's write port, streams its
activations, and compares every result word with the ROM. It runs the whole set again and
again, for as long as the board is powered: ``passed`` lights after the first complete
clean run and stays lit while every later run is clean; ``failed`` latches on the first
mismatch, invalid weight code, K overflow or stall, and stays until reset. ``heartbeat``
blinks to show the clock runs. `TernarySelftest` puts the core on a board's LEDs.
"""


from dataclasses import dataclass

from amaranth.hdl import Elaboratable, Module, Signal, Value, unsigned
from amaranth.lib import data, io, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import Out

from tritherm.formats import TernaryArrayShape
from tritherm.hdl.ternary import TernaryArray
from tritherm.sim.verify.cycle import pack_fields
from tritherm.sim.golden import array_weight_image
from tritherm.sim.verify.ternary_vectors import TernaryJob, activation_beats, extreme_jobs, random_jobs

__all__ = ["SelftestVectors", "selftest_vectors", "default_jobs", "SelftestCore",
           "TernarySelftest", "STALL_LIMIT", "drive_leds"]

#: Cycles without progress (no weight write, beat accepted or result taken) that count as
#: a hang. The array's pipeline is three stages deep, so any limit above that would do.
STALL_LIMIT = 255


@dataclass
class SelftestVectors:
    """ROM contents for `SelftestCore`.

    Attributes
    ----------
    shape : TernaryArrayShape
    cases : list of (k, rows, vectors)
        Per job: K, weight rows to load (= beats per vector), vectors to run.
    weight_bytes : list of int
        Each job's weight rows, row by row, ``row_bytes`` bytes each.
    beats : list of int
        Each vector's activation beats, ``inputs`` bytes each, element 0 lowest.
    expected : list of int
        Each vector's result word, ``lanes`` fields of ``acc_width`` bits.
    """

    shape: TernaryArrayShape
    cases: list[tuple[int, int, int]]
    weight_bytes: list[int]
    beats: list[int]
    expected: list[int]


def default_jobs(shape: TernaryArrayShape, seed: int = 2024, count: int = 6) -> list[TernaryJob]:
    """The extremes at full K plus `count` random jobs from `seed`."""
    return extreme_jobs(shape) + random_jobs(shape, count, seed)


def selftest_vectors(shape: TernaryArrayShape, jobs: list[TernaryJob]) -> SelftestVectors:
    """Lay out `jobs` and their golden results as the self-test's ROM contents."""
    if not jobs:
        raise ValueError("the self-test needs at least one job")
    vectors = SelftestVectors(shape, [], [], [], [])
    for job in jobs:
        rows = -(-job.k // shape.inputs)
        image = array_weight_image(shape, job.weights)
        vectors.cases.append((job.k, rows, len(job.activations)))
        vectors.weight_bytes.extend(int(byte) for byte in image[:rows].reshape(-1))
        for vector, result in zip(job.activations, job.expected(shape)):
            vectors.beats.extend(activation_beats(shape, vector))
            vectors.expected.append(pack_fields(result, shape.acc_width))
    return vectors


def _rom(m: Module, name: str, shape, init) -> "Memory.ReadPort":
    """A read-only memory with one synchronous, always-enabled read port."""
    m.submodules[name] = memory = Memory(shape=shape, depth=len(init), init=init)
    return memory.read_port()


class SelftestCore(wiring.Component):
    """Runs `SelftestVectors` through a `TernaryArray`, forever, and says pass or fail.

    Parameters
    ----------
    vectors : SelftestVectors
    heartbeat_period : int
        Clock cycles per heartbeat half-period.

    Attributes
    ----------
    passed : Out(1)
        At least one complete run, and no failure.
    failed : Out(1)
        Sticky: a result differed from the golden one, the array raised ``invalid_code``
        or ``k_overflow``, or nothing moved for `STALL_LIMIT` cycles.
    heartbeat : Out(1)
        Square wave, ``2 * heartbeat_period`` cycles.
    runs : Out(16)
        Complete runs so far (wraps).
    """

    passed: Out(1)
    failed: Out(1)
    heartbeat: Out(1)
    runs: Out(16)

    def __init__(self, vectors: SelftestVectors, heartbeat_period: int = 6_000_000):
        if heartbeat_period < 1:
            raise ValueError(f"heartbeat_period must be at least 1, got {heartbeat_period}")
        self.vectors = vectors
        self.heartbeat_period = heartbeat_period
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        v, shape = self.vectors, self.vectors.shape
        m.submodules.array = array = TernaryArray(shape)

        case_layout = data.StructLayout({
            "k": shape.k_width, "rows": range(shape.rows + 1),
            "vectors": range(max(n for _, _, n in v.cases) + 1)})
        cases = _rom(m, "cases", case_layout,
                     [{"k": k, "rows": r, "vectors": n} for k, r, n in v.cases])
        weights = _rom(m, "weight_rom", unsigned(8), v.weight_bytes)
        beats = _rom(m, "beat_rom", unsigned(8 * shape.inputs), v.beats)
        expected = _rom(m, "expected_rom", unsigned(shape.acc_width * shape.lanes), v.expected)

        case = Signal(range(len(v.cases)))
        case_data = Signal(case_layout)
        w_ptr = Signal(range(len(v.weight_bytes) + 1))
        b_ptr = Signal(range(len(v.beats) + 1))
        e_ptr = Signal(range(len(v.expected) + 1))
        row, column = Signal(range(shape.rows + 1)), Signal(range(shape.row_bytes))
        beat, sent, got = (Signal(range(shape.rows + 1)), Signal.like(case_data.vectors),
                           Signal.like(case_data.vectors))
        pending = Signal()                      # a weight byte arrives from the ROM
        pending_row, pending_column = Signal.like(row), Signal.like(column)

        accept = array.activations.valid & array.activations.ready
        take = array.results.valid & array.results.ready
        m.d.comb += [
            cases.addr.eq(case),
            weights.addr.eq(w_ptr),
            beats.addr.eq(b_ptr + accept),
            expected.addr.eq(e_ptr + take),
            array.k.eq(case_data.k),
            array.weights.en.eq(pending),
            array.weights.row.eq(pending_row),
            array.weights.column.eq(pending_column),
            array.weights.data.eq(weights.data),
            array.activations.payload.eq(beats.data),
            array.results.ready.eq(1),
        ]
        m.d.sync += pending.eq(0)

        # Results are checked whatever the state: one too many is a mismatch too.
        mismatch, stalled = Signal(), Signal()
        with m.If(take):
            m.d.sync += [e_ptr.eq(e_ptr + 1), got.eq(got + 1)]
            with m.If((Value.cast(array.results.payload) != expected.data)
                      | (got == case_data.vectors)):
                m.d.sync += mismatch.eq(1)

        last_case = case == len(v.cases) - 1
        with m.FSM():
            with m.State("START"):
                m.d.sync += [case.eq(0), w_ptr.eq(0), b_ptr.eq(0), e_ptr.eq(0)]
                m.next = "FETCH"
            with m.State("FETCH"):              # the case ROM reads the new address
                m.next = "LOAD"
            with m.State("LOAD"):
                m.d.sync += [case_data.eq(cases.data), row.eq(0), column.eq(0),
                             beat.eq(0), sent.eq(0), got.eq(0)]
                m.next = "WRITE"
            with m.State("WRITE"):
                m.d.sync += [pending.eq(1), pending_row.eq(row), pending_column.eq(column),
                             w_ptr.eq(w_ptr + 1)]
                with m.If(column == shape.row_bytes - 1):
                    m.d.sync += [column.eq(0), row.eq(row + 1)]
                    with m.If(row == case_data.rows - 1):
                        m.next = "SETTLE"
                with m.Else():
                    m.d.sync += column.eq(column + 1)
            with m.State("SETTLE"):             # the last byte is written this cycle
                m.next = "STREAM"
            with m.State("STREAM"):
                m.d.comb += array.activations.valid.eq(sent != case_data.vectors)
                with m.If(accept):
                    m.d.sync += b_ptr.eq(b_ptr + 1)
                    with m.If(beat == case_data.rows - 1):
                        m.d.sync += [beat.eq(0), sent.eq(sent + 1)]
                    with m.Else():
                        m.d.sync += beat.eq(beat + 1)
                with m.If((sent == case_data.vectors) & (got == case_data.vectors) & ~take):
                    m.d.sync += case.eq(case + 1)
                    with m.If(last_case):
                        m.next = "DONE"
                    with m.Else():
                        m.next = "NEXT"
            with m.State("NEXT"):
                m.next = "FETCH"
            with m.State("DONE"):
                m.d.sync += [self.runs.eq(self.runs + 1), self.passed.eq(1)]
                m.next = "START"

        # Watchdog: progress is a weight write, an accepted beat or a taken result.
        idle = Signal(range(STALL_LIMIT + 1))
        with m.If(pending | accept | take | (idle == STALL_LIMIT)):
            m.d.sync += idle.eq(0)
        with m.Else():
            m.d.sync += idle.eq(idle + 1)
        with m.If(idle == STALL_LIMIT):
            m.d.sync += stalled.eq(1)

        m.d.comb += self.failed.eq(mismatch | stalled | array.invalid_code | array.k_overflow)
        with m.If(self.failed):
            m.d.sync += self.passed.eq(0)

        blink = Signal(range(self.heartbeat_period))
        with m.If(blink == self.heartbeat_period - 1):
            m.d.sync += [blink.eq(0), self.heartbeat.eq(~self.heartbeat)]
        with m.Else():
            m.d.sync += blink.eq(blink + 1)
        return m


class TernarySelftest(Elaboratable):
    """Board top: `SelftestCore` on the board's pass, fail and heartbeat LEDs.

    Parameters
    ----------
    board : tritherm.boards.catalog.Board
    shape : TernaryArrayShape, optional
        Array size; the board's ``selftest_shape`` by default.
    jobs : list of TernaryJob, optional
        Test jobs; `default_jobs` by default.
    """

    def __init__(self, board, shape: TernaryArrayShape | None = None,
                 jobs: list[TernaryJob] | None = None):
        self.board = board
        self.shape = shape or board.selftest_shape
        self.vectors = selftest_vectors(self.shape, jobs or default_jobs(self.shape))

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = SelftestCore(
            self.vectors, heartbeat_period=max(1, int(self.board.clock_hz) // 2))
        drive_leds(m, platform, ((self.board.pass_led, core.passed),
                                 (self.board.fail_led, core.failed),
                                 (self.board.heartbeat_led, core.heartbeat)))
        return m


def drive_leds(m: Module, platform, leds) -> None:
    """Drive each `tritherm.boards.catalog.Led` of `leds` (pairs of Led and signal),
    requesting each resource once (RGB LEDs share one)."""
    resources = {}
    for led, signal in leds:
        key = (led.resource, led.number)
        if key not in resources:
            resources[key] = platform.request(led.resource, led.number, dir="-")
        port = getattr(resources[key], led.field) if led.field else resources[key]
        m.submodules[f"led_{led}".replace(".", "_")] = buffer = io.Buffer("o", port)
        m.d.comb += buffer.o.eq(signal)
