"""cocotb testbench of the whole `Soc` (UART, protocol, array, coupler) at bit level.

The host side is cocotbext-uart: a `UartSource` on ``rx`` and a `UartSink` on ``tx`` at the
SoC's bit time (``divisor`` cycles of the 100 MHz simulation clock). The scripts, the
golden `SocModel` and the driver are `tritherm.sim.verify.soc_vectors`, shared with the Amaranth
tests. Configured by the environment: TRITHERM_SEED, TRITHERM_ROUNDS (corruption rounds),
TRITHERM_SOC_TESTS (comma-separated test names to run; all when unset).
"""

import logging
import os

import cocotb
from cocotb.triggers import ClockCycles
from cocotb.utils import get_sim_time
from cocotbext.uart import UartSink, UartSource

from tritherm.firmware.soc import frame_timeout_cycles
from tritherm.hdl.io import uart_divisor
from tritherm.sim.verify import soc_vectors as sv
from tritherm.sim.verify.cocotb_io import CLOCK_PERIOD_NS, start_clock_and_reset


_ONLY = [name for name in os.environ.get("TRITHERM_SOC_TESTS", "").split(",") if name]


def soc_test(function):
    """A cocotb test, skipped unless TRITHERM_SOC_TESTS is unset or names it."""
    return cocotb.test(skip=bool(_ONLY) and function.__name__ not in _ONLY)(function)


class UartLink:
    """`tritherm.sim.verify.soc_vectors.SocLink` over the serial lines, through cocotbext-uart."""

    def __init__(self, dut, divisor: int):
        baud = 1e9 / (CLOCK_PERIOD_NS * divisor)
        self.source = UartSource(dut.rx, baud=baud, bits=8, stop_bits=1)
        self.sink = UartSink(dut.tx, baud=baud, bits=8, stop_bits=1)
        for model in (self.source, self.sink):
            model.log.setLevel(logging.WARNING)         # they log every byte at INFO
        self.byte_cycles = 10 * divisor
        self._clk = dut.clk

    async def send(self, data: bytes) -> None:
        await self.source.write(data)
        await self.source.wait()

    async def receive(self, count: int, max_cycles: int) -> bytes:
        out = bytearray()
        deadline = round(get_sim_time("ns")) + max_cycles * CLOCK_PERIOD_NS
        while len(out) < count:
            out += self.sink.read_nowait(min(count - len(out), self.sink.count()))
            left = deadline - round(get_sim_time("ns"))     # whole ns for the Timer
            if len(out) >= count or left <= 0:
                break
            await self.sink.wait(timeout=left, timeout_unit="ns")
        return bytes(out)

    async def idle(self, cycles: int) -> None:
        await ClockCycles(self._clk, cycles)


class TB:
    """The SoC under test: seed, configuration, clock, reset and the UART models."""

    def __init__(self, dut):
        self.dut = dut
        self.seed = int(os.environ["TRITHERM_SEED"])
        self.rounds = int(os.environ.get("TRITHERM_ROUNDS", "30"))
        self.config = sv.SOC_TEST_CONFIG
        dut._log.info("seed %d (replay with TRITHERM_SEED=%d)", self.seed, self.seed)

    async def play(self, script) -> None:
        divisor = uart_divisor(self.config.clock_hz, self.config.baud)
        link = UartLink(self.dut, divisor)             # drives rx high before reset ends
        await start_clock_and_reset(self.dut)
        count = await sv.play(link, sv.SocModel(self.config), script,
                              frame_timeout_cycles(self.config))
        self.dut._log.info("%d bytes answered as the golden model says", count)
        assert int(self.dut.leds.value) & 0b010 == 0, "the coupler LED is still on"


@soc_test
async def soc_identify_and_registers(dut):
    await TB(dut).play(sv.identify_script() + sv.registers_script())


@soc_test
async def soc_matvec(dut):
    tb = TB(dut)
    await tb.play(sv.matvec_script(tb.config, tb.seed))


@soc_test
async def soc_coupler_samples(dut):
    tb = TB(dut)
    await tb.play(sv.coupler_script(tb.config, tb.seed) + sv.noise_script(tb.config, tb.seed))


@soc_test
async def soc_coupler_stop(dut):
    tb = TB(dut)
    await tb.play(sv.stop_script(tb.config, tb.seed))


@soc_test
async def soc_coupler_moments(dut):
    """Block moments on chip, both modes, saturating, a stopped run with dropped frames."""
    tb = TB(dut)
    await tb.play(sv.moments_script(tb.config, tb.seed))


@soc_test
async def soc_compact_stream(dut):
    """The compact sample stream: full, padded and stopped runs, dropped frames."""
    tb = TB(dut)
    await tb.play(sv.stream_script(tb.config, tb.seed))


@soc_test
async def soc_bad_frames(dut):
    await TB(dut).play(sv.error_script())


@soc_test
async def soc_corrupted_frames(dut):
    """Random bit flips, truncations and garbage, each followed by the intact frame."""
    tb = TB(dut)
    await tb.play(sv.corruption_script(tb.config, tb.seed, tb.rounds))
