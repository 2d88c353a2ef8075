"""The 8N1 UART on the Amaranth simulator: tx waveform, tx->rx loopback under random traffic,
rx against a bit-level line model with +-2 % baud mismatch, framing errors, overrun."""

import math
import os
import random

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from tritherm.hdl.io import UartRx, UartTx, uart_divisor
from tritherm.sim.verify.cycle import AmaranthIO, Traffic
from tritherm.sim.verify.cycle import drive_stream

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")


def _board_divisors() -> dict[int, list[str]]:
    """Each board SoC's UART divisor at its design clock and baud, and the boards."""
    from tritherm.boards.catalog import BOARDS
    out: dict[int, list[str]] = {}
    for board in BOARDS.values():
        out.setdefault(uart_divisor(board.design_hz, board.soc.baud), []).append(board.name)
    return out


BOARD_DIVISORS = _board_divisors()


def simulate(dut, bench):
    """Run the async testbench `bench(ctx)` on `dut` with a clock; return its result."""
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    result = []

    async def run(ctx):
        result.append(await bench(ctx))

    sim.add_testbench(run)
    sim.run()
    return result[0]


def frame_bits(byte: int, stop: int = 1) -> list[int]:
    """The ten line levels of an 8N1 frame: start 0, data LSB first, stop."""
    return [0] + [(byte >> i) & 1 for i in range(8)] + [stop]


def random_payload(rng: random.Random, count: int) -> list[int]:
    """`count` random bytes after the edge patterns 0x00, 0xFF, 0x55, 0xAA, 0x80, 0x01."""
    return [0x00, 0xFF, 0x55, 0xAA, 0x80, 0x01] + [rng.randrange(256) for _ in range(count)]


# --- parameters -------------------------------------------------------------------------


@pytest.mark.parametrize("divisor", [3, 0, -4, 4.0, True, None])
def test_divisor_is_validated(divisor):
    for core in (UartTx, UartRx):
        with pytest.raises(ValueError, match="divisor"):
            core(divisor)


def test_uart_divisor_picks_the_nearest_and_refuses_far_rates():
    for clock_hz, baud in [(12e6, 115200), (48e6, 3e6), (25e6, 9600), (16e6, 1e6),
                           (12e6, 921600), (100e6, 2e6)]:
        divisor = uart_divisor(clock_hz, baud)
        assert divisor == math.floor(clock_hz / baud + 0.5)
        assert abs(clock_hz / divisor / baud - 1) <= 0.02
    # 12 MHz / 3 = 4 MHz: too few cycles per bit; 10 MHz at 2.3 Mbaud: divisor 4 gives
    # 2.5 Mbaud, 8.7 % off; 12 MHz at 921 600 baud: divisor 13 gives 923 077 baud (0.16 %).
    with pytest.raises(ValueError, match="at least 4 clock cycles per bit"):
        uart_divisor(12e6, 4e6)
    with pytest.raises(ValueError, match=r"\+8\.70% off with divisor 4"):
        uart_divisor(10e6, 2.3e6)
    with pytest.raises(ValueError, match="-6.67% off with divisor 6"):
        uart_divisor(12e6, 12e6 / 5.6)      # 2 MHz for 2.142857 MHz
    assert uart_divisor(1e6, 1e5 / 1.019) == 10          # +1.9 %: accepted
    with pytest.raises(ValueError, match=r"\+2.10% off"):
        uart_divisor(1e6, 1e5 / 1.021)
    for bad in [(0, 9600), (12e6, -1), (float("nan"), 9600)]:
        with pytest.raises(ValueError, match="positive"):
            uart_divisor(*bad)


def test_each_board_runs_its_uart_at_an_exact_rate_within_its_bridge():
    """The fastest rates (boards/catalog.py): 6 Mbaud from 24 MHz on the iCEBreaker
    (FT2232H, up to 12 Mbaud), 3 Mbaud from 30 MHz on the ULX3S (FT231X, up to 3 Mbaud);
    each divisor exact (0 % error) and at least MIN_DIVISOR; every divisor is among those
    the receiver and loopback tests below run at."""
    from tritherm.boards.catalog import BOARDS
    bridge_limit = {"FT2232H": 12e6, "FT231X": 3e6}
    for board in BOARDS.values():
        soc = board.soc
        divisor = uart_divisor(board.design_hz, soc.baud)
        assert board.design_hz == divisor * soc.baud, board.name
        for bridge, limit in bridge_limit.items():
            if bridge in board.uart.bridge:
                assert soc.baud <= limit, board.name
    assert BOARDS["icebreaker"].soc.baud == 6_000_000
    assert BOARDS["ulx3s-85f"].soc.baud == 3_000_000
    assert set(BOARD_DIVISORS) <= set(RX_DIVISORS) & set(LOOPBACK_DIVISORS)


# --- transmitter ------------------------------------------------------------------------


@pytest.mark.parametrize("divisor", [4, 5])
def test_tx_waveform_back_to_back(divisor):
    """Bytes offered back to back leave as contiguous frames, each bit `divisor` cycles,
    with `ready` low exactly while a frame is on the line (except its last cycle)."""
    rng = random.Random(SEED)
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    payload = random_payload(rng, 10)
    dut = UartTx(divisor)

    async def bench(ctx):
        line, taken, sent = [], [], 0
        assert ctx.get(dut.tx) == 1
        for cycle in range(len(payload) * 10 * divisor + 4 * divisor):
            ctx.set(dut.data.valid, sent < len(payload))
            ctx.set(dut.data.payload, payload[sent] if sent < len(payload) else 0)
            if sent < len(payload) and ctx.get(dut.data.ready):
                taken.append(cycle)
                sent += 1
            await ctx.tick()
            line.append(ctx.get(dut.tx))
        return line, taken

    line, taken = simulate(dut, bench)
    want = [level for byte in payload for level in frame_bits(byte) for _ in range(divisor)]
    assert taken == [i * 10 * divisor for i in range(len(payload))]
    assert line[:len(want)] == want
    assert set(line[len(want):]) == {1}


# --- loopback ---------------------------------------------------------------------------


class Loopback(wiring.Component):
    """`UartTx` wired to `UartRx` at one divisor: bytes in ``send`` come out of ``received``."""

    def __init__(self, divisor):
        self.divisor = divisor
        super().__init__({
            "send": In(stream.Signature(8)),
            "received": Out(stream.Signature(8)),
            "framing_error": Out(1),
            "overrun": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.tx = tx = UartTx(self.divisor)
        m.submodules.rx = rx = UartRx(self.divisor)
        wiring.connect(m, wiring.flipped(self.send), tx.data)
        wiring.connect(m, rx.data, wiring.flipped(self.received))
        m.d.comb += [rx.rx.eq(tx.tx), self.framing_error.eq(rx.framing_error),
                     self.overrun.eq(rx.overrun)]
        return m


#: The loopback and receiver tests run at these divisors: the boards' (4, 10, 24, 32) and more.
LOOPBACK_DIVISORS = sorted({4, 5, 16, *BOARD_DIVISORS})
RX_DIVISORS = LOOPBACK_DIVISORS


@pytest.mark.parametrize("divisor,count", [(d, max(30, 600 // d)) for d in LOOPBACK_DIVISORS])
def test_loopback_random_traffic(divisor, count):
    """Random bytes with random gaps before each and random back-pressure on the receiver."""
    rng = random.Random(SEED + divisor)
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    payload = random_payload(rng, count)
    dut = Loopback(divisor)

    async def bench(ctx):
        io = AmaranthIO(ctx, dut)
        got = await drive_stream(io, "send", "received", payload,
                                 Traffic(gap=0.2, stall=0.5, seed=SEED + divisor),
                                 max_cycles=len(payload) * 20 * divisor + 1000)
        return got, ctx.get(dut.framing_error), ctx.get(dut.overrun)

    got, framing_error, overrun = simulate(dut, bench)
    assert got == payload
    assert (framing_error, overrun) == (0, 0)


# --- receiver against a line model ------------------------------------------------------


def line_model(frames, divisor: int, error: float, rng: random.Random):
    """Line levels sampled once per clock cycle for a sender whose bit lasts
    ``divisor * (1 + error)`` cycles, starting at a random phase.

    `frames` holds ``(kind, byte)`` with kind "ok" (a good frame), "bad" (stop bit low) or
    "glitch" (a low pulse shorter than the receiver's start check, byte unused). Before each
    frame the line idles high for a random 1.5..3 bits (0..3 bits between good frames).
    Returns the levels (uint8 array) and the bytes a correct receiver delivers.
    """
    bit = divisor * (1 + error)
    check = (divisor - 1) // 2                   # the receiver's start check, in cycles
    t = rng.random() + 2 * bit
    pulses = []                                   # (start, [levels], duration of a level)
    expected = []
    previous = "ok"
    for kind, byte in frames:
        if kind == "glitch":
            t += rng.uniform(1.5, 3) * bit
            pulses.append((t, [0], rng.uniform(0.1, 0.95) * check))
            t += bit
            continue
        # A low stop bit needs the line high again before the next start bit can be seen.
        idle_bits = rng.uniform(1.5, 3) if "bad" in (kind, previous) else rng.uniform(0, 3)
        t += idle_bits * bit
        previous = kind
        pulses.append((t, frame_bits(byte, stop=int(kind == "ok")), bit))
        t += 10 * bit
        if kind == "ok":
            expected.append(byte)
    cycles = np.arange(int(t + 4 * bit), dtype=float)
    levels = np.ones(len(cycles), dtype=np.uint8)
    for start, bits, width in pulses:
        inside = (cycles >= start) & (cycles < start + width * len(bits))
        index = ((cycles[inside] - start) // width).astype(int)
        levels[inside] = np.array(bits, dtype=np.uint8)[index]
    return levels, expected


def run_rx(divisor, levels, stall=0.0, rng=None, clear_at=None):
    """Drive `UartRx` with `levels`, one per cycle, taking bytes with probability
    ``1 - stall`` per cycle; return the bytes and the flags after every cycle."""
    dut = UartRx(divisor)

    async def bench(ctx):
        got, flags = [], []
        for cycle, level in enumerate(levels):
            ready = stall == 0.0 or rng.random() >= stall
            ctx.set(dut.rx, int(level))
            ctx.set(dut.data.ready, ready)
            ctx.set(dut.clear, cycle == clear_at)
            if ready and ctx.get(dut.data.valid):
                got.append(ctx.get(dut.data.payload))
            await ctx.tick()
            flags.append((ctx.get(dut.framing_error), ctx.get(dut.overrun)))
        return got, flags

    return simulate(dut, bench)


@pytest.mark.parametrize("error", [-0.02, 0.0, 0.02], ids=lambda e: f"{e:+.0%}")
@pytest.mark.parametrize("divisor", RX_DIVISORS)
def test_rx_line_model_with_baud_mismatch(divisor, error):
    """Good frames at the mismatched rate (random phase and idle time), glitches shorter
    than the start check, all delivered (glitches ignored), no flag raised."""
    rng = random.Random(SEED * 7 + divisor)
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    frames = [("ok", b) for b in random_payload(rng, 40 if divisor < 16 else 14)]
    for _ in range(len(frames) // 5):
        frames.insert(rng.randrange(len(frames)), ("glitch", 0))
    levels, expected = line_model(frames, divisor, error, rng)
    got, flags = run_rx(divisor, levels, stall=0.3, rng=rng)
    assert got == expected
    assert flags[-1] == (0, 0)


@pytest.mark.parametrize("divisor", [4, 16])
def test_framing_error_is_sticky_and_the_next_byte_arrives(divisor):
    """A low stop bit sets the flag and drops the byte; a break (line low for two frames)
    is one error; good bytes before and after are delivered; `clear` clears the flag."""
    rng = random.Random(SEED + 11 * divisor)
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    before, _ = line_model([("ok", 0x5A), ("bad", 0xC3), ("ok", 0x3C)], divisor, 0.0, rng)
    after, _ = line_model([("ok", 0xA5)], divisor, 0.0, rng)
    brk = np.zeros(25 * divisor, np.uint8)      # a break: low for two and a half frames
    levels = np.concatenate([before, brk, np.ones(divisor, np.uint8), after])
    clear_at = len(levels)
    levels = np.concatenate([levels, np.ones(4, np.uint8)])
    got, flags = run_rx(divisor, levels, clear_at=clear_at)
    assert got == [0x5A, 0x3C, 0xA5]
    first_error = next(i for i, f in enumerate(flags) if f[0])
    assert first_error < len(before), "the bad stop bit (before the break) was not flagged"
    assert all(f == (1, 0) for f in flags[first_error:clear_at])
    assert flags[clear_at:] == [(0, 0)] * 4


@pytest.mark.parametrize("divisor", [4, 5])
def test_overrun_drops_the_new_byte(divisor):
    """Three bytes while nobody takes them: the first is held (not overwritten), the
    others are dropped with `overrun` set; after taking it the next frame arrives."""
    rng = random.Random(SEED + 13 * divisor)
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    first, dropped, late = rng.randrange(256), [rng.randrange(256) for _ in range(2)], 0x96
    levels, _ = line_model([("ok", first)] + [("ok", b) for b in dropped], divisor, 0.0, rng)
    tail, _ = line_model([("ok", late)], divisor, 0.0, rng)
    dut = UartRx(divisor)

    async def bench(ctx):
        ctx.set(dut.data.ready, 0)
        for level in levels:
            ctx.set(dut.rx, int(level))
            await ctx.tick()
        held = (ctx.get(dut.data.valid), ctx.get(dut.data.payload), ctx.get(dut.overrun))
        ctx.set(dut.data.ready, 1)
        await ctx.tick()
        after_take = ctx.get(dut.data.valid)
        got = []
        for level in tail:
            ctx.set(dut.rx, int(level))
            if ctx.get(dut.data.valid):
                got.append(ctx.get(dut.data.payload))
            await ctx.tick()
        still = ctx.get(dut.overrun)
        ctx.set(dut.clear, 1)
        await ctx.tick()
        return held, after_take, got, still, ctx.get(dut.overrun), ctx.get(dut.framing_error)

    held, after_take, got, still, cleared, framing = simulate(dut, bench)
    assert held == (1, first, 1)
    assert after_take == 0, "a dropped byte was delivered after the held one"
    assert got == [late]
    assert (still, cleared, framing) == (1, 0, 0)
