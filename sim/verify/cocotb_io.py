"""`CycleIO` for cocotb 2.x, and the clock/reset set-up every tritherm testbench shares.

Inputs are driven just after the falling edge; outputs are read in the ReadOnly phase
of the same time step, so they are the values the next rising edge samples.
"""

from __future__ import annotations

from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge, with_timeout
from cocotb.types import Logic

__all__ = ["CocotbIO", "start_clock_and_reset"]

CLOCK_PERIOD_NS = 10


class CocotbIO:
    """`tritherm.sim.verify.cycle.CycleIO` over a cocotb DUT handle with ``clk`` and ``rst``."""

    def __init__(self, dut):
        self._dut = dut
        self._clk = dut.clk

    async def begin_cycle(self):
        await FallingEdge(self._clk)

    def set(self, name, value):
        getattr(self._dut, name).value = value

    async def settle(self):
        await ReadOnly()

    def get(self, name):
        value = getattr(self._dut, name).value
        return int(value) if isinstance(value, Logic) else value.to_unsigned()

    async def end_cycle(self):
        await RisingEdge(self._clk)

    async def wait_high(self, name, max_cycles):
        """Sleep until output `name` is high, then settle (as after ``settle()``): one
        simulator event instead of one per cycle. TimeoutError after `max_cycles`."""
        signal = getattr(self._dut, name)
        await ReadOnly()
        while not int(signal.value):
            try:
                await with_timeout(RisingEdge(signal), max_cycles * CLOCK_PERIOD_NS, "ns")
            except Exception as error:   # cocotb's SimTimeoutError
                raise TimeoutError(f"{name} stayed low for {max_cycles} cycles") from error
            await ReadOnly()


async def start_clock_and_reset(dut, inputs=(), cycles: int = 3) -> CocotbIO:
    """Drive `inputs` (Verilog port names) to 0, start a 100 MHz clock, hold reset for
    `cycles` cycles, return the DUT's `CocotbIO`.

    Inputs are undriven (Z on Icarus) until set: zeroing them before reset ends keeps
    anything undefined, or left over from a previous test, out of the design."""
    for name in inputs:
        getattr(dut, name).value = 0
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns").start()
    dut.rst.value = 1
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    return CocotbIO(dut)
