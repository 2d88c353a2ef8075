"""Board tops: the SoC (or a UART echo) on a board's PLL clock, UART and LEDs.

`SocTop(board)` requests the board clock, makes the ``sync`` domain from it with the
board's PLL (`tritherm.boards.clocking.PllDomain`, in reset until the PLL locks), and puts
the inner design on the board's ``uart`` resource and three LEDs. A design clock equal to
the board clock needs no PLL: the platform's own ``sync`` domain (the board clock, with
its power-on reset) drives the design then.

- ``design="soc"``: `tritherm.firmware.soc.Soc` built from the board's `SocConfig`;
- ``design="echo"``: `UartEcho`, a bring-up design that sends back every byte it receives,
  to check the clock, the pins and the host's serial port before the SoC.

The inner designs share one interface (``rx: In(1)``, ``tx: Out(1)``, ``leds: Out(3)``):
LED bit 0 is a heartbeat (the board's heartbeat LED), bit 1 shows activity (the coupler
running, or a byte echoed; the pass LED), bit 2 a sticky error flag (the fail LED).
"""

from __future__ import annotations

from amaranth.hdl import ClockDomain, Elaboratable, Module, Signal
from amaranth.lib import io, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from tritherm.firmware.config import DEFAULT_BAUD, SocConfig
from tritherm.firmware.selftest import drive_leds
from tritherm.hdl.io import UartRx, UartTx, uart_divisor

from .catalog import Board, get_board
from .clocking import PllDomain

__all__ = ["UartEcho", "SocTop", "SOC_DESIGNS", "ECHO_FIFO_DEPTH", "clock_text"]

#: The inner designs a board top can hold.
SOC_DESIGNS = ("soc", "echo")
#: Bytes the echo design buffers between receiver and transmitter (a host a little faster
#: than the board's baud rate fills it by one byte every few hundred).
ECHO_FIFO_DEPTH = 16


class UartEcho(wiring.Component):
    """Bring-up design: every byte received on ``rx`` is sent back on ``tx``.

    Parameters
    ----------
    clock_hz : float
        The design clock.
    baud : int
        The serial rate (`tritherm.firmware.config.DEFAULT_BAUD`).

    Attributes
    ----------
    rx : In(1), tx : Out(1)
        The serial lines (idle high).
    leds : Out(3)
        Bit 0 blinks at 1 Hz; bit 1 toggles on every byte echoed; bit 2 latches when a
        framing error, a receiver overrun or a full buffer has lost a byte.
    """

    def __init__(self, clock_hz: float, baud: int = DEFAULT_BAUD):
        self.clock_hz, self.baud = clock_hz, baud
        self.divisor = uart_divisor(clock_hz, baud)
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "leds": Out(3)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart_rx = rx = UartRx(self.divisor)
        m.submodules.uart_tx = tx = UartTx(self.divisor)
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=8, depth=ECHO_FIFO_DEPTH)
        m.d.comb += [
            rx.rx.eq(self.rx),
            self.tx.eq(tx.tx),
            fifo.w_data.eq(rx.data.payload),
            fifo.w_en.eq(rx.data.valid),
            rx.data.ready.eq(1),                 # a byte the FIFO cannot take is counted lost
            tx.data.payload.eq(fifo.r_data),
            tx.data.valid.eq(fifo.r_rdy),
            fifo.r_en.eq(tx.data.ready),
        ]
        lost = Signal()
        with m.If((rx.data.valid & ~fifo.w_rdy) | rx.framing_error | rx.overrun):
            m.d.sync += lost.eq(1)
        activity = Signal()
        with m.If(tx.data.valid & tx.data.ready):
            m.d.sync += activity.eq(~activity)
        half_second = max(1, int(self.clock_hz) // 2)
        blink, heartbeat = Signal(range(half_second)), Signal()
        with m.If(blink == half_second - 1):
            m.d.sync += [blink.eq(0), heartbeat.eq(~heartbeat)]
        with m.Else():
            m.d.sync += blink.eq(blink + 1)
        m.d.comb += self.leds.eq(heartbeat | activity << 1 | lost << 2)
        return m


def clock_text(board: Board, pll) -> str:
    """How a design clock is made, for messages: the PLL setting, or the board clock."""
    if pll is None:
        return f"{board.clock_hz / 1e6:g} MHz board clock, no PLL"
    return str(pll)


class SocTop(Elaboratable):
    """A board top: PLL clock domain, the inner design, the UART pins and three LEDs.

    Parameters
    ----------
    board : Board or str
        The board (a name from `tritherm.boards.catalog.BOARDS`).
    design : str
        ``"soc"`` (the default) or ``"echo"``.
    config : SocConfig, optional
        The SoC's sizes and clock; the board's ``soc`` by default. Its ``clock_hz`` is the
        board clock or the PLL's target, which must be reachable exactly from the board
        clock.

    Attributes
    ----------
    pll : Ice40Pll or Ecp5Pll or None
        The PLL setting; None when the design runs on the board clock.
    inner : wiring.Component
        The SoC or the echo design (made when the top is constructed).
    """

    def __init__(self, board: Board | str, design: str = "soc", config: SocConfig | None = None):
        try:
            self.board = get_board(board) if isinstance(board, str) else board
            if design not in SOC_DESIGNS:
                raise ValueError(f"design must be one of {', '.join(SOC_DESIGNS)}, "
                                 f"got {design!r}")
            self.config = config or self.board.soc
            if not isinstance(self.config, SocConfig):
                raise ValueError(f"config must be a SocConfig, got {self.config!r}")
            self.pll = self.board.pll_for(self.config.clock_hz)
        except ValueError:
            self._MustUse__silence = True           # never elaborated: no warning for it
            raise
        self.design = design
        if design == "soc":
            from tritherm.firmware.soc import Soc
            self.inner = Soc(self.config)
        else:
            self.inner = UartEcho(self.config.clock_hz, self.config.baud)

    @property
    def clock_text(self) -> str:
        """How the design clock is made (`clock_text`)."""
        return clock_text(self.board, self.pll)

    def elaborate(self, platform):
        m = Module()
        if self.pll is not None:
            m.domains.sync = ClockDomain("sync")
            clock = platform.request(platform.default_clk, dir="-")
            m.submodules.pll = PllDomain(self.pll, clock, pad=self.board.pll_pad)
        m.submodules[self.design] = inner = self.inner
        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_rx = rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = tx = io.Buffer("o", uart.tx)
        m.d.comb += [inner.rx.eq(rx.i), tx.o.eq(inner.tx)]
        b = self.board
        drive_leds(m, platform, ((b.heartbeat_led, inner.leds[0]), (b.pass_led, inner.leds[1]),
                                 (b.fail_led, inner.leds[2])))
        return m
