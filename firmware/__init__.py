"""What is flashed and how it is driven: board tops and host drivers.

The host driver is importable from here: `Device`, `open_device`, `DeviceError`,
`SerialTransport`, `SimTransport` (loaded on first use, so importing
``tritherm.firmware.config`` stays light).
"""

_LAZY = {"Device": "device", "open_device": "device", "DeviceError": "transport",
         "Identity": "device", "FlagReport": "device", "CouplerRun": "device",
         "SerialTransport": "transport", "SimTransport": "transport",
         "TransportError": "transport"}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
