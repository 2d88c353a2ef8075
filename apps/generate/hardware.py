"""The generator on the RTL and on the SoC, each checked against the golden coupler word for word.

Chain i of a digit (coupler seed ``integer.chain_seeds(seed, digit, count)[i]``) is one
`CouplerJob` (`generation_jobs`): load `integer.uncoupled_program` with THIN = t_f / h and
run t_f (one sample: the starting noise), write the digit's A and b
(`integer.switch_writes`) and run t_f (one sample: the end). The two sample words of every
chain (seq, every cell's sticky flag, x and p of every cell) come back from the hardware
and are compared with the golden model's words for the same jobs
(`tritherm.sim.verify.coupler_vectors.expected_words`, `CouplerModel`), the count of words
that differ going back in `Checked.agreement`; the images are decoded from the hardware's
words, so they are `integer.generate_golden`'s when every word agrees.

- ``rtl``: `WideCoupler(cells, multipliers)` as Verilog on Verilator (or Icarus), built
  once per configuration (the build is cached on the Verilog) and every chain of every
  digit of a call through one simulator run (`generate_rtl`). `RTL_MULTIPLIERS` = 16, the
  generator SoC's, so the RTL's cycles are the board's.
- ``board``: the SoC's coupler through `tritherm.firmware.Device` (`generate_board`), on a
  serial port or ``port="sim"`` (the `SocCore` in Verilator, sized by `generator_config`).
  The coupler keeps its A between chains, so after the first chain only the entries that
  change are written (the two programs differ in every coupling, so that is still two
  matrices a chain: `throughput` counts the bytes).

`throughput` turns the cycles a step takes on the RTL (192 cells on 16 multipliers with the
quartic pre-pass: 2,702, `rtl_cycles_per_step`) and the bytes the protocol moves per image
into seconds per image on a SoC at its design clock and baud rate; `rtl_demo_row` is the
demo's row of digits.

Time per image, measured on the shared 2-core machine (CPU seconds; wall clock was 2 to 3
times longer under the other jobs' load), every image bit-exact with golden:

- golden, ``generate_golden(model, 3, 4, 11)``: 0.51 s;
- rtl on Verilator, ``sample(model, [3], 1, 11, backend="rtl")``: 381 s (1,280 words);
- rtl on Icarus: about 31 minutes, from ``generate_rtl(..., simulator="icarus",
  steps=S)`` at S = 4 and 100 (7,490 cycles/s against 13.8 M cycles an image);
- board on the simulated SoC, ``sample(model, [3], 1, 5, backend="board", port="sim")``:
  33 s wall (the SoC's own Verilator harness, no cocotb), after a 4-minute first build;
- the ULX3S-85F generator SoC (`throughput()`): 0.46 s of coupler time (13.8 M cycles
  at 30 MHz) and 1.53 s of link (458,147 bytes at 3 Mbaud; 4.58 s at 1 Mbaud), 1.99 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tritherm.errors import UserError
from tritherm.formats import (COUPLER_INDEX_BITS, COUPLER_REGION_A, COUPLER_REGION_A_ROW,
                              coupler_a_write, coupler_cycles_per_step)
from tritherm.sim.golden.coupler import CouplerSamples

from . import integer
from .model import (Generated, GenerativeModel, check_count, check_digit, check_seed,
                    load_model)

__all__ = ["SIMULATORS", "RTL_MULTIPLIERS", "RTL_THIN", "Agreement", "Checked",
           "generation_jobs", "generate_rtl", "generate_board", "generator_config",
           "board_writes", "link_bytes", "rtl_cycles_per_step", "throughput", "rtl_demo_row"]

SIMULATORS = ("verilator", "icarus")
#: A x multipliers of the rtl backend's coupler: the generator SoC's (`generator_config`).
#: 16 keeps a step (2,702 cycles at 192 cells) well above the noise source's pace (480)
#: and the A memory at 16 block RAMs wide; 64 would step 2.8 times faster on 64 DSPs.
RTL_MULTIPLIERS = 16
#: THIN of the rtl backend's runs: a sample every 4 steps (the cocotb driver's stall
#: timeout is four steps), so the RTL is compared with golden 1,280 times a chain.
RTL_THIN = 4
#: The board a serial port is taken to hold when none is named (its generator SoC).
DEFAULT_BOARD = "ulx3s-85f"
#: Seconds the board backend waits for a sample from the simulated SoC.
SIM_TIMEOUT = 1800.0


@dataclass(frozen=True)
class Agreement:
    """The hardware's sample words against the golden model's: how many were compared, how
    many differ, and the first difference decoded (None when all agree)."""

    words: int
    mismatched: int
    first: str | None = None

    @property
    def exact(self) -> bool:
        """Every word compared, and all equal."""
        return self.words > 0 and self.mismatched == 0

    def __add__(self, other: Agreement) -> Agreement:
        return Agreement(self.words + other.words, self.mismatched + other.mismatched,
                         self.first or other.first)


@dataclass
class Checked(Generated):
    """`Generated` by the hardware, with its agreement with the golden model and where it
    ran (``backend``: ``"rtl on verilator"``, ``"board on the simulated SoC"``, ...)."""

    agreement: Agreement | None = None
    backend: str = ""


def _programs(model: GenerativeModel, digit: int, cells: int | None):
    """The two programs (padded to `cells`, see `padded_program`) and the switch's writes."""
    from tritherm.firmware.device import padded_program
    cells = model.cells if cells is None else cells
    first = padded_program(integer.uncoupled_program(model), cells).with_(thin=model.steps)
    second = padded_program(integer.to_program(model, digit), cells)
    return first, second, integer.switch_writes(second)


def generation_jobs(model: GenerativeModel, digit: int, count: int, seed: int = 0,
                    cells: int | None = None, thin: int | None = None) -> list:
    """One `CouplerJob` per chain: the uncoupled program with chain i's seed
    (`integer.chain_seeds`) and THIN = `thin` (default: t_f / h, a sample at the end of
    each phase; it must divide the steps), run t_f, switch to `digit`'s A and b, run t_f
    (on a coupler of `cells` >= the model's cells: the extra cells idle, uncoupled)."""
    from tritherm.sim.verify.coupler_vectors import CouplerJob
    digit = check_digit(digit)
    thin = model.steps if thin is None else thin
    if model.steps % thin:
        raise ValueError(f"thin={thin} does not divide the {model.steps} steps")
    first, _, switch = _programs(model, digit, cells)
    first = first.with_(thin=thin)
    return [CouplerJob(f"digit {digit}, chain {i}, coupler seed {s}",
                       [("write", first.with_(seed=s).writes()), ("run", model.steps),
                        ("write", switch), ("run", model.steps)])
            for i, s in enumerate(integer.chain_seeds(seed, digit, count))]


def _compare(got: list[list[int]], want: list[list[int]], cells: int, jobs) -> Agreement:
    from tritherm.sim.verify.coupler_vectors import first_difference
    words = mismatched = 0
    first = None
    for job, g, w in zip(jobs, got, want):
        words += len(w)
        mismatched += sum(a != b for a, b in zip(g, w)) + abs(len(g) - len(w))
        if first is None and (difference := first_difference(g, w, cells)) is not None:
            first = f"{job.name}: {difference}"
    return Agreement(words, mismatched, first)


def _result(model, digit, words: list[list[int]], cells: int, seconds: float,
            agreement: Agreement, backend: str) -> Checked:
    """Decode each chain's sample words at the start (seq = steps) and the end (seq = 2
    steps) of the digit's run into a `Checked` as `integer.generate_golden` makes it."""
    from tritherm.sim.verify.coupler_vectors import unpack_sample
    n = model.cells
    x0 = np.zeros((len(words), n), dtype=np.int64)
    x1, flags = np.zeros_like(x0), np.zeros_like(x0)
    for i, chain in enumerate(words):
        at = {w & 0xFFFFFFFF: w for w in chain}
        if model.steps not in at or 2 * model.steps not in at:
            raise RuntimeError(f"chain {i} of digit {digit} gave no sample at step "
                               f"{model.steps} or {2 * model.steps}")
        start, end = (unpack_sample(at[k * model.steps], cells) for k in (1, 2))
        x0[i], x1[i], flags[i] = start["x"][:n], end["x"][:n], end["flags"][:n]
    g = integer._finish(model, digit, integer.to_program(model, digit), x0, x1, flags,
                        seconds)
    return Checked(**vars(g), agreement=agreement, backend=backend)


# --- rtl ----------------------------------------------------------------------------------

def generate_rtl(model: GenerativeModel, digits, count: int, seed: int = 0,
                 simulator: str = "verilator", multipliers: int = RTL_MULTIPLIERS,
                 steps: int | None = None) -> dict[int, Checked]:
    """`count` images of each of `digits` on the coupler's RTL in `simulator`, every chain
    through one simulator run, every sample word compared with golden. `steps` (default
    the model's t_f / h) shortens both phases, to time a slow simulator."""
    from tritherm.hdl.thermo.wide import WideCoupler
    from tritherm.sim.verify.coupler_vectors import (expected_words, run_cocotb_jobs,
                                                     sample_counts)
    if simulator not in SIMULATORS:
        raise UserError(f"the simulator must be one of {', '.join(SIMULATORS)}, "
                        f"got {simulator!r}")
    digits = [check_digit(d) for d in digits]
    cells = model.cells
    if steps is not None:
        model = _with_steps(model, steps)
    try:
        dut = WideCoupler(cells, multipliers, quartic=True)
    except ValueError as error:
        raise UserError(f"no coupler of {cells} cells on {multipliers} multipliers: "
                        f"{error}") from None
    jobs = {d: generation_jobs(model, d, count, seed, thin=RTL_THIN) for d in digits}
    everything = [job for d in digits for job in jobs[d]]
    start = time.perf_counter()
    got = run_cocotb_jobs(dut, simulator, everything, sample_counts(everything, cells))
    seconds = (time.perf_counter() - start) / len(digits)
    want = expected_words(everything, cells)
    runs, k = {}, 0
    for d in digits:
        n = len(jobs[d])
        agreement = _compare(got[k:k + n], want[k:k + n], cells, jobs[d])
        runs[d] = _result(model, d, got[k:k + n], cells, seconds, agreement,
                          f"rtl on {simulator}")
        k += n
    return runs


def _with_steps(model: GenerativeModel, steps: int) -> GenerativeModel:
    from dataclasses import replace
    if not isinstance(steps, int) or steps < 1:
        raise UserError(f"steps must be a whole number of at least 1, got {steps!r}")
    return replace(model, steps=steps)


# --- board --------------------------------------------------------------------------------

def generator_config(model: GenerativeModel | None = None, board: str | None = None):
    """The SoC that runs the generator: `board`'s generator SoC
    (`tritherm.boards.catalog.GENERATOR_SOCS`), or for the simulation (no board) the
    simulation SoC's small array beside a coupler of the model's cells on
    `RTL_MULTIPLIERS` with the quartic pre-pass. UserError for a board without one."""
    from tritherm.firmware.config import SIM_SOC_CONFIG
    cells = (model or load_model()).cells
    if board is None:
        # No block moments: a SoC with them holds at most MOMENTS_MAX_CELLS cells.
        return SIM_SOC_CONFIG.with_(cells=cells, multipliers=RTL_MULTIPLIERS, quartic=True,
                                    moments=False)
    from tritherm.boards.catalog import GENERATOR_SOCS, get_board
    try:
        get_board(board)
    except ValueError as error:
        raise UserError(str(error)) from None
    config = GENERATOR_SOCS.get(board)
    if config is None or config.cells < cells:
        raise UserError(f"the {board} has no SoC sized for the generator's {cells} cells; "
                        f"boards with one: {', '.join(GENERATOR_SOCS)}")
    return config


def _a_changes(now: np.ndarray | None, new: np.ndarray) -> list[tuple[int, int]]:
    """A's writes that turn `now` (None: unknown) into `new`, row by row."""
    rows, columns = np.nonzero(new != now) if now is not None else np.indices(new.shape).reshape(2, -1)
    return [coupler_a_write(int(i), int(j), int(new[i, j])) for i, j in zip(rows, columns)]


def _not_a(writes) -> list[tuple[int, int]]:
    return [(a, d) for a, d in writes
            if a >> COUPLER_INDEX_BITS not in (COUPLER_REGION_A, COUPLER_REGION_A_ROW)]


def board_writes(model: GenerativeModel, digit: int, seed: int, cells: int,
                 a_now: np.ndarray | None) -> tuple[list, list, np.ndarray]:
    """A chain's writes on a coupler whose A is `a_now` (None: unknown): the uncoupled
    program with seed `seed` (A only where it differs), and the switch to `digit`'s
    program; returns both and the A left behind. The coupler ends up as the full
    `generation_jobs` writes leave it."""
    first, second, _ = _programs(model, digit, cells)
    first = first.with_(seed=seed)
    load = _a_changes(a_now, first.A) + _not_a(first.writes())
    switch = _a_changes(first.A, second.A) + _not_a(integer.switch_writes(second))
    return load, switch, second.A


def _open(model, port: str, board: str | None):
    from tritherm.firmware.device import DeviceError, open_device
    if port != "sim" and board is None:
        board = DEFAULT_BOARD
    config = generator_config(model, board)
    try:
        # A phase is 6.9 M cycles: a fraction of a second on a board, minutes in
        # simulation, where the default wait for a sample (10 s) would give up.
        device = open_device(port, config, what="the generator's SoC",
                             timeout=SIM_TIMEOUT if port == "sim" else None)
    except DeviceError as error:
        raise UserError(str(error)) from None
    ident = device.identity
    if ident.cells < model.cells or not ident.quartic:
        device.close()
        raise UserError(f"{device.transport.description}'s coupler has {ident.cells} cells"
                        f"{'' if ident.quartic else ' and no quartic pre-pass'}; the "
                        f"generator needs {model.cells} cells with the quartic pre-pass")
    return device


def _words(samples: CouplerSamples, cells: int) -> list[int]:
    from tritherm.sim.verify.coupler_vectors import pack_samples
    return pack_samples(samples, cells)


def generate_board(model: GenerativeModel, digits, count: int, seed: int = 0,
                   port: str = "sim", board: str | None = None, device=None,
                   progress: Callable[[int, int], None] | None = None) -> dict[int, Checked]:
    """`count` images of each of `digits` on the SoC behind `port` (``"sim"``: the SoC
    in Verilator, `generator_config`; a serial port: `board`'s generator SoC, default
    `DEFAULT_BOARD`, checked against the device's identity) or `device` (an open
    `Device`, kept open), every sample word compared with golden; `progress(done,
    total)` counts chains."""
    from tritherm.firmware.device import DeviceError
    from tritherm.sim.verify.coupler_vectors import expected_words
    digits = [check_digit(d) for d in digits]
    count, seed = check_count(count), check_seed(seed)
    own = device is None
    if own:
        device = _open(model, port, board)
    cells = device.identity.cells
    where = device.transport.description
    runs, a_now, done = {}, None, 0
    try:
        for d in digits:
            start = time.perf_counter()
            got = []
            for s in integer.chain_seeds(seed, d, count):
                load, switch, a_now = board_writes(model, d, s, cells, a_now)
                device.configure_coupler(load)
                words = _words(device.sample(model.steps), cells)
                device.configure_coupler(switch)
                got.append(words + _words(device.sample(model.steps), cells))
                done += 1
                if progress is not None:
                    progress(done, len(digits) * count)
            seconds = time.perf_counter() - start
            jobs = generation_jobs(model, d, count, seed, cells)
            agreement = _compare(got, expected_words(jobs, cells), cells, jobs)
            runs[d] = _result(model, d, got, cells, seconds, agreement, f"board on {where}")
    except DeviceError as error:
        raise UserError(str(error)) from None
    finally:
        if own:
            device.close()
    return runs


# --- time per image -----------------------------------------------------------------------

def rtl_cycles_per_step(cells: int = 192, multipliers: int = RTL_MULTIPLIERS,
                        steps: int = 3) -> list[int]:
    """Clock cycles between consecutive samples of the coupler's RTL (`WideCoupler` in the
    Amaranth simulator, overdamped with the quartic pre-pass and the generator's HSHIFT and
    NOISE, THIN = 1, samples taken at once): `steps` - 1 of them. The values in A and x do
    not change the schedule, so A is left at its reset value (zero)."""
    from amaranth.sim import Simulator

    from tritherm.formats import (COUPLER_OVERDAMPED, COUPLER_REG_HSHIFT, COUPLER_REG_MODE,
                                  COUPLER_REG_NOISE, COUPLER_REG_QUARTIC, COUPLER_REG_SEED,
                                  COUPLER_REG_THIN, COUPLER_REGION_SCALAR, coupler_address)
    from tritherm.hdl.thermo.wide import WideCoupler
    program = integer.uncoupled_program(load_model()) if cells == load_model().cells else None
    noise = program.noise if program is not None else 1 << 12
    dut = WideCoupler(cells, multipliers, quartic=True)
    writes = [(coupler_address(COUPLER_REGION_SCALAR, r), v) for r, v in (
        (COUPLER_REG_MODE, COUPLER_OVERDAMPED), (COUPLER_REG_QUARTIC, 1),
        (COUPLER_REG_HSHIFT, 10), (COUPLER_REG_NOISE, noise), (COUPLER_REG_THIN, 1),
        (COUPLER_REG_SEED, 1))]
    seen: list[int] = []

    async def handshake(ctx, stream, payload):
        ctx.set(stream.valid, 1)
        ctx.set(stream.payload, payload)
        while not ctx.get(stream.ready):
            await ctx.tick()
        await ctx.tick()
        ctx.set(stream.valid, 0)

    async def bench(ctx):
        for address, data in writes:
            await handshake(ctx, dut.config, {"addr": address, "data": data})
        ctx.set(dut.samples.ready, 1)
        await handshake(ctx, dut.run, steps)
        cycle = 0
        while len(seen) < steps:
            if ctx.get(dut.samples.valid):
                seen.append(cycle)
            await ctx.tick()
            cycle += 1
            if cycle > 4 * steps * coupler_cycles_per_step(cells, multipliers, True):
                raise RuntimeError("the coupler stalled")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return np.diff(seen).tolist()


def link_bytes(model: GenerativeModel, cells: int | None = None) -> dict:
    """Bytes on the serial link per image once the coupler holds a program (every chain
    after the first): COUPLER_WRITE frames and their answers for the two programs' writes,
    COUPLER_RUN and its answer, the SAMPLE and RUN_DONE frames of the two runs."""
    from tritherm.firmware.protocol import (Op, Status, encode_frame, max_coupler_writes,
                                            pack_coupler_writes, pack_run, response,
                                            sample_payload_bytes)
    cells = model.cells if cells is None else cells
    first, _, _ = _programs(model, 0, cells)
    _, _, a_digit = board_writes(model, 0, 0, cells, None)
    load, switch, _ = board_writes(model, 0, 1, cells, a_digit)
    ok = len(encode_frame(response(Op.COUPLER_WRITE), bytes([Status.OK])))
    writes = 0
    for batch in (load, switch):
        step = max_coupler_writes()
        for k in range(0, len(batch), step):
            writes += len(encode_frame(Op.COUPLER_WRITE,
                                       pack_coupler_writes(batch[k:k + step]))) + ok
    run = len(encode_frame(Op.COUPLER_RUN, pack_run(model.steps))) + ok
    sample = len(encode_frame(Op.SAMPLE, bytes(sample_payload_bytes(cells))))
    done = len(encode_frame(Op.RUN_DONE, bytes(9)))
    per_run = run + sample + done
    return {"write_entries": len(load) + len(switch), "writes": writes,
            "runs": 2 * per_run, "total": writes + 2 * per_run}


def throughput(model: GenerativeModel | None = None, clock_hz: float | None = None,
               baud: int | None = None, multipliers: int = RTL_MULTIPLIERS,
               cells: int | None = None) -> dict:
    """Seconds per generated image on a SoC at `clock_hz` and `baud` (default: the
    ULX3S-85F generator SoC's, `GENERATOR_SOCS`): the coupler's cycles
    per step (`coupler_cycles_per_step` with the quartic pre-pass, or the noise source's
    pace if slower; the RTL's, `tests/test_generate_hardware.py` counts them) times the two
    phases' steps, plus the link's bytes per image (`link_bytes`, 10 bits a byte); the
    host waits for each, so the two add up."""
    from tritherm.boards.catalog import GENERATOR_SOCS
    from tritherm.hdl.thermo import Coupler
    model = model or load_model()
    soc = GENERATOR_SOCS["ulx3s-85f"]
    clock_hz = soc.clock_hz if clock_hz is None else float(clock_hz)
    baud = soc.baud if baud is None else int(baud)
    cells = model.cells if cells is None else cells
    core = Coupler(cells, multipliers, quartic=True)
    core._MustUse__silence = True                # asked for its noise pace, not elaborated
    per_step = max(coupler_cycles_per_step(cells, multipliers, quartic=True),
                   core.noise_cycles_per_step)
    steps = 2 * model.steps
    link = link_bytes(model, cells)
    core_s = steps * per_step / clock_hz
    link_s = link["total"] * 10 / baud
    return {"cells": cells, "multipliers": multipliers, "clock_hz": clock_hz, "baud": baud,
            "cycles_per_step": per_step, "steps_per_image": steps,
            "cycles_per_image": steps * per_step, "core_seconds": core_s,
            "link_bytes_per_image": link["total"], "link_seconds": link_s,
            "seconds_per_image": core_s + link_s, "images_per_second": 1 / (core_s + link_s)}


# --- the demo -----------------------------------------------------------------------------

def rtl_demo_row(model: GenerativeModel | None = None, seed: int = 0, digits=range(10),
                 via: str = "soc", simulator: str = "verilator"
                 ) -> tuple[np.ndarray, Agreement, float]:
    """One image of each of `digits` (chain seed `seed`) on RTL in Verilator, every sample
    word compared with golden: ``via="soc"`` the SoC's Verilog through the serial protocol
    (`generate_board` on ``port="sim"``, about 30 s an image), ``via="coupler"`` the
    coupler's Verilog under cocotb on `simulator` (`generate_rtl`, minutes an image).
    Returns the images (len(digits), 64) in grey levels 0..16, the agreement, and the
    seconds taken."""
    model = model or load_model()
    digits = [check_digit(d) for d in digits]
    if via == "soc":
        runs = generate_board(model, digits, 1, seed, "sim")
    elif via == "coupler":
        runs = generate_rtl(model, digits, 1, seed, simulator)
    else:
        raise UserError(f"via must be 'soc' or 'coupler', got {via!r}")
    agreement = Agreement(0, 0)
    for d in digits:
        agreement = agreement + runs[d].agreement
    return (np.concatenate([runs[d].images for d in digits]), agreement,
            sum(runs[d].seconds for d in digits))
