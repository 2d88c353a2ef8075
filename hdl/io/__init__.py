"""Serial I/O for the SoC: an 8N1 UART and the protocol's CRC-16."""

from .crc import Crc16
from .uart import UartRx, UartTx, uart_divisor

__all__ = ["UartTx", "UartRx", "uart_divisor", "Crc16"]
