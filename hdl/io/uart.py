"""An 8N1 UART: `UartTx` and `UartRx` with stream interfaces, and `uart_divisor`.

Frames are one start bit (low), eight data bits LSB first, one stop bit (high); the line
idles high. Both sides count ``divisor`` clock cycles per bit (no fractional divider), so
the baud rate is ``clock_hz / divisor``; `uart_divisor` picks the divisor and refuses a
rate that would be more than 2 % off.

The receiver synchronises ``rx`` through two flip-flops, takes a low line as a start bit,
confirms it half a bit later (a shorter glitch is ignored), then samples each data bit and
the stop bit in its middle. It is ready for the next start bit from the middle of the stop
bit on. It tolerates a sender at least 2.5 % fast or slow at divisor 4 and nearly 5 % at
large divisors (see `UartRx`).
"""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["UartTx", "UartRx", "uart_divisor", "MIN_DIVISOR", "MAX_BAUD_ERROR"]

#: Fewest clock cycles per bit: the receiver needs a start-bit check before mid-bit.
MIN_DIVISOR = 4
#: Largest relative baud-rate error `uart_divisor` accepts.
MAX_BAUD_ERROR = 0.02

_DATA_BITS = 8


def _check_divisor(core, divisor) -> int:
    """`divisor`, checked for `core` (which is then never elaborated: no warning for it)."""
    if (not isinstance(divisor, int) or isinstance(divisor, bool)
            or not MIN_DIVISOR <= divisor <= 1 << 24):
        core._MustUse__silence = True
        raise ValueError(f"divisor (clock cycles per bit) must be an integer in "
                         f"[{MIN_DIVISOR}, {1 << 24}], got {divisor!r}")
    return divisor


def uart_divisor(clock_hz: float, baud: float) -> int:
    """The clock cycles per bit nearest ``clock_hz / baud``.

    Raises ValueError if either rate is not positive, if the divisor would be below
    `MIN_DIVISOR`, or if the baud rate it gives is more than 2 % (`MAX_BAUD_ERROR`) off
    `baud` (the message says by how much).
    """
    if not clock_hz > 0 or not baud > 0:
        raise ValueError(f"clock frequency and baud rate must be positive, got "
                         f"{clock_hz!r} Hz and {baud!r} baud")
    divisor = max(1, round(clock_hz / baud))
    if divisor < MIN_DIVISOR:
        raise ValueError(f"{baud:g} baud needs at least {MIN_DIVISOR} clock cycles per bit, "
                         f"but a {clock_hz:g} Hz clock gives {clock_hz / baud:.2f}")
    error = (clock_hz / divisor - baud) / baud
    if abs(error) > MAX_BAUD_ERROR:
        raise ValueError(f"{baud:g} baud from a {clock_hz:g} Hz clock is {error:+.2%} off "
                         f"with divisor {divisor} (more than {MAX_BAUD_ERROR:.0%})")
    return divisor


class UartTx(wiring.Component):
    """UART transmitter, 8N1, LSB first, idle high.

    A byte taken from ``data`` goes on the line at the next clock edge (start bit) and
    occupies it for ``10 * divisor`` cycles; ``data.ready`` is low meanwhile, except in the
    last cycle of the stop bit, so bytes offered back to back leave with no idle time.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (at least 4); see `uart_divisor`.

    Attributes
    ----------
    data : In(stream.Signature(8))
        Bytes to send.
    tx : Out(1, init=1)
        The serial line (registered).
    """

    def __init__(self, divisor: int):
        self.divisor = _check_divisor(self, divisor)
        super().__init__({
            "data": In(stream.Signature(_DATA_BITS)),
            "tx": Out(1, init=1),
        })

    def elaborate(self, platform):
        m = Module()
        busy = Signal()
        count = Signal(range(self.divisor))           # cycles left in the current bit
        bits = Signal(range(_DATA_BITS + 2))          # bits still to shift out after this one
        shift = Signal(_DATA_BITS + 1)                # data bits then the stop bit, LSB first

        bit_done = count == 0
        m.d.comb += self.data.ready.eq(~busy | (bit_done & (bits == 0)))
        with m.If(busy):
            m.d.sync += count.eq(count - 1)
            with m.If(bit_done):
                with m.If(bits == 0):
                    m.d.sync += busy.eq(0)
                with m.Else():
                    m.d.sync += [
                        self.tx.eq(shift[0]),
                        shift.eq(shift >> 1),
                        bits.eq(bits - 1),
                        count.eq(self.divisor - 1),
                    ]
        with m.If(self.data.valid & self.data.ready):
            m.d.sync += [
                busy.eq(1),
                self.tx.eq(0),
                shift.eq(Cat(self.data.payload, Const(1, 1))),
                bits.eq(_DATA_BITS + 1),
                count.eq(self.divisor - 1),
            ]
        return m


class UartRx(wiring.Component):
    """UART receiver, 8N1, LSB first, idle high, with sticky error flags.

    ``rx`` passes a two-flip-flop synchroniser (initialised high). A low line starts a
    frame; ``(divisor - 1) // 2`` cycles later (mid-bit) it must still be low, else it was a
    glitch and the receiver waits again. Data bits and the stop bit are sampled every
    ``divisor`` cycles from there. The timing error at the stop bit is at most
    ``1 + 9.5 * divisor * |e|`` cycles for a sender off by the fraction ``e``, against half a
    bit (``divisor * (1 + e) / 2`` cycles) of margin: a 2 % mismatch is safe at every
    divisor >= 4.

    A good byte is offered on ``data`` until taken. If the next byte's stop bit arrives
    while the previous byte is still untaken, the new byte is dropped and ``overrun`` set
    (the held byte is never overwritten). A low stop bit sets ``framing_error`` and drops
    that byte; the receiver then waits for the line to go high (a break) before looking for
    the next start bit.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (at least 4); see `uart_divisor`.

    Attributes
    ----------
    rx : In(1)
        The serial line (asynchronous).
    data : Out(stream.Signature(8))
        Received bytes.
    framing_error : Out(1)
        Sticky: a stop bit was low.
    overrun : Out(1)
        Sticky: a byte arrived while the previous one was not taken (the new one is lost).
    clear : In(1)
        Clears both flags (an error in the same cycle still sets its flag).
    """

    def __init__(self, divisor: int):
        self.divisor = _check_divisor(self, divisor)
        super().__init__({
            "rx": In(1, init=1),
            "data": Out(stream.Signature(_DATA_BITS)),
            "framing_error": Out(1),
            "overrun": Out(1),
            "clear": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        line = Signal(init=1)
        m.submodules.sync_rx = FFSynchronizer(self.rx, line, init=1)

        count = Signal(range(self.divisor))           # cycles until the next sample
        bits = Signal(range(_DATA_BITS))              # data bits still to sample after this
        shift = Signal(_DATA_BITS)
        sample = count == 0

        with m.If(self.data.ready):
            m.d.sync += self.data.valid.eq(0)
        with m.If(self.clear):
            m.d.sync += [self.framing_error.eq(0), self.overrun.eq(0)]

        with m.FSM():
            with m.State("idle"):
                with m.If(~line):
                    m.d.sync += count.eq((self.divisor - 1) // 2 - 1)
                    m.next = "start"
            with m.State("start"):
                m.d.sync += count.eq(count - 1)
                with m.If(sample):
                    with m.If(line):
                        m.next = "idle"                      # a glitch, not a start bit
                    with m.Else():
                        m.d.sync += [count.eq(self.divisor - 1), bits.eq(_DATA_BITS - 1)]
                        m.next = "data"
            with m.State("data"):
                m.d.sync += count.eq(count - 1)
                with m.If(sample):
                    m.d.sync += [shift.eq(Cat(shift[1:], line)), bits.eq(bits - 1),
                                 count.eq(self.divisor - 1)]
                    with m.If(bits == 0):
                        m.next = "stop"
            with m.State("stop"):
                m.d.sync += count.eq(count - 1)
                with m.If(sample):
                    with m.If(~line):
                        m.d.sync += self.framing_error.eq(1)
                        m.next = "break"
                    with m.Elif(self.data.valid & ~self.data.ready):
                        m.d.sync += self.overrun.eq(1)
                        m.next = "idle"
                    with m.Else():
                        m.d.sync += [self.data.payload.eq(shift), self.data.valid.eq(1)]
                        m.next = "idle"
            with m.State("break"):
                with m.If(line):
                    m.next = "idle"
        return m
