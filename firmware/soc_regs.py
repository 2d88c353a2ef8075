"""The SoC's register file (`tritherm.firmware.protocol.Reg`): identity constants, live
status, sticky flags with per-bit clear, and the error counters."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tritherm.formats import COUPLER_FORMAT, SHAPER_SAMPLES

from .config import SocConfig
from .protocol import MAGIC, MAX_PAYLOAD, PROTOCOL_VERSION, REGISTER_COUNT, Feature, Flag, Reg

__all__ = ["RegisterFile", "identity_values", "COUNTER_BITS", "REGISTER_INDEX_BITS",
           "RUN_SAMPLES"]

#: Width of the error counters; they stop at 2**16 - 1 instead of wrapping.
COUNTER_BITS = 16
#: An internal register after the map (READ_REGS cannot reach it): the samples sent by the
#: current or last run, which RUN_DONE reports after COUPLER_STEP.
RUN_SAMPLES = REGISTER_COUNT
REGISTER_INDEX_BITS = RUN_SAMPLES.bit_length()


def identity_values(config: SocConfig) -> dict[Reg, int]:
    """The constant registers of the SoC built from `config` (MAGIC .. COUPLER_FEATURES)."""
    fmt = COUPLER_FORMAT
    return {
        Reg.MAGIC: MAGIC,
        Reg.VERSION: PROTOCOL_VERSION,
        Reg.CLOCK_HZ: round(config.clock_hz),
        Reg.BAUD: config.baud,
        Reg.ARRAY_LANES: config.array.lanes,
        Reg.ARRAY_INPUTS: config.array.inputs,
        Reg.ARRAY_CAPACITY: config.array.capacity,
        Reg.ARRAY_ACC_WIDTH: config.array.acc_width,
        Reg.COUPLER_CELLS: config.cells,
        Reg.COUPLER_MULTIPLIERS: config.multipliers,
        Reg.COUPLER_SHAPER: list(SHAPER_SAMPLES).index(config.shaper),
        Reg.COUPLER_FORMAT: (fmt.state.width | fmt.state.frac << 8 | fmt.coef.frac << 16
                             | fmt.mult.frac << 24),
        Reg.MAX_PAYLOAD: MAX_PAYLOAD,
        Reg.COUPLER_FEATURES: (Feature.QUARTIC * config.quartic
                                | Feature.MOMENTS * config.moments
                                | Feature.STREAM * config.stream),
    }


def _word(value) -> Value:
    """`value` (an int or a Value of at most 32 bits) as 32 bits, zero-extended."""
    value = Value.cast(Const(value, 32) if isinstance(value, int) else value)
    return Cat(value, Const(0, 32 - len(value))) if len(value) < 32 else value


def _bit(flag: Flag) -> int:
    """The bit number of a `Flag`."""
    return flag.bit_length() - 1


class RegisterFile(wiring.Component):
    """Registers 0 .. REGISTER_COUNT-1, read one at a time, written by WRITE_REG.

    FLAGS is the OR of the sources' sticky flags and of flags held here: the array's two
    flags share one clear, as do the UART's two, so clearing one of a pair clears the
    source and keeps the other here until it is cleared in turn. Clearing
    COUPLER_SATURATED asks the executor (``clear_saturated``) to write the coupler's FLAGS
    register. Counters saturate at ``2**COUNTER_BITS - 1``; a write of any value zeroes
    one. Registers that do not exist read 0; the executor refuses writes to registers
    other than `tritherm.firmware.protocol.WRITABLE_REGISTERS`.

    Attributes
    ----------
    index : In(REGISTER_INDEX_BITS)
        The register read.
    value : Out(32)
    write : In(1)
        Write ``write_data`` to register ``write_index`` this cycle.
    write_index : In(REGISTER_INDEX_BITS)
    write_data : In(32)
    garbage, bad_crc, dropped : In(1)
        Count one event.
    bad_frame : In(2)
        Count each bit set (two sources can report in the same cycle).
    running : In(1)
    step : In(32)
    run_samples : In(32)
        Read at index `RUN_SAMPLES`.
    saturated : In(cells)
    array_flags : In(2)
        ARRAY_INVALID_CODE, ARRAY_K_OVERFLOW (sticky in the array).
    uart_flags : In(2)
        UART_FRAMING, UART_OVERRUN (sticky in the UART).
    clear_array, clear_uart, clear_saturated : Out(1)
    flags : Out(5)
        The FLAGS register.
    """

    def __init__(self, config: SocConfig):
        self.config = config
        super().__init__({
            "index": In(REGISTER_INDEX_BITS),
            "value": Out(32),
            "write": In(1),
            "write_index": In(REGISTER_INDEX_BITS),
            "write_data": In(32),
            "garbage": In(1),
            "bad_crc": In(1),
            "bad_frame": In(2),
            "dropped": In(1),
            "running": In(1),
            "step": In(32),
            "run_samples": In(32),
            "saturated": In(config.cells),
            "array_flags": In(2),
            "uart_flags": In(2),
            "clear_array": Out(1),
            "clear_uart": Out(1),
            "clear_saturated": Out(1),
            "flags": Out(len(Flag)),
        })

    def elaborate(self, platform):
        m = Module()
        write = self.write
        data = self.write_data

        # Sticky flags: FLAGS bit order is Flag's (array pair, saturated, UART pair).
        held_array, held_uart = Signal(2), Signal(2)
        array_now = self.array_flags | held_array
        uart_now = self.uart_flags | held_uart
        m.d.comb += self.flags.eq(Cat(array_now, self.saturated.any(), uart_now))
        flags_write = write & (self.write_index == Reg.FLAGS)
        for held, now, sources, clear, bits in (
                (held_array, array_now, self.array_flags, self.clear_array,
                 (Flag.ARRAY_INVALID_CODE, Flag.ARRAY_K_OVERFLOW)),
                (held_uart, uart_now, self.uart_flags, self.clear_uart,
                 (Flag.UART_FRAMING, Flag.UART_OVERRUN))):
            cleared = Cat(data[_bit(flag)] for flag in bits)
            m.d.comb += clear.eq(flags_write & cleared.any())
            with m.If(clear):
                m.d.sync += held.eq(now & ~cleared)
        m.d.comb += self.clear_saturated.eq(
            flags_write & data[_bit(Flag.COUPLER_SATURATED)])

        # Counters. They start a cycle after reset: in Icarus the events, driven from the
        # state machines' `always @*` blocks, are X until those blocks first run. The
        # events are registered first (counted a cycle late: the state machines' logic and
        # the counters' carry chains are then two paths).
        started, settling = Signal(), Signal()
        m.d.sync += [settling.eq(1), started.eq(settling)]
        counters = {}
        top = (1 << COUNTER_BITS) - 1
        happened = Signal(5)
        m.d.sync += happened.eq(Cat(self.bad_crc, self.bad_frame, self.garbage, self.dropped))
        for reg, events in ((Reg.BAD_CRC_COUNT, [happened[0]]),
                            (Reg.BAD_FRAME_COUNT, [happened[1], happened[2]]),
                            (Reg.GARBAGE_COUNT, [happened[3]]),
                            (Reg.DROPPED_COUNT, [happened[4]])):
            counter = Signal(COUNTER_BITS, name=reg.name.lower())
            total = counter + sum(events)
            with m.If(write & (self.write_index == reg)):
                m.d.sync += counter.eq(0)
            with m.Elif(started):
                m.d.sync += counter.eq(Mux(total > top, top, total))
            counters[reg] = counter

        cells = self.config.cells
        live = {
            Reg.STATUS: self.running,
            Reg.FLAGS: self.flags,
            Reg.SATURATED_LO: self.saturated[:32],
            Reg.COUPLER_STEP: self.step,
            RUN_SAMPLES: self.run_samples,
            **counters,
        }
        if cells > 32:
            # Cells 32..63 only: a wider slice would push every later register along.
            live[Reg.SATURATED_HI] = self.saturated[32:64]
        values = {**identity_values(self.config), **live}
        # A shift, not a Switch: the Verilog is a continuous assignment, which Icarus
        # evaluates at time 0 (it does not run an `always @*` block until an input changes).
        table = Cat(_word(values.get(reg, 0)) for reg in range(1 << REGISTER_INDEX_BITS))
        m.d.comb += self.value.eq(table.word_select(self.index, 32))
        return m
