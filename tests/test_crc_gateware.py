"""`Crc16` on the Amaranth simulator against the host's `crc16` and a bit-serial reference."""

import os
import random

from amaranth.sim import Simulator

from tritherm.firmware.protocol import crc16
from tritherm.formats import CRC16_INIT, CRC16_POLY
from tritherm.hdl.io import Crc16

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")


def crc16_bit_serial(data: bytes) -> int:
    """The CRC as a 16-bit LFSR clocked once per message bit, MSB of each byte first."""
    register = CRC16_INIT
    for bit in (byte >> (7 - k) & 1 for byte in data for k in range(8)):
        feedback = (register >> 15) ^ bit
        register = (register << 1) & 0xFFFF
        if feedback:
            register ^= CRC16_POLY
    return register


def run_crc(messages, rng):
    """Feed `messages` through one `Crc16`: random idle cycles between bytes, the clear
    either alone or together with a message's first byte. Returns, per message, the
    ``crc`` output after each prefix it can be seen after, ``{prefix length: crc}`` (the
    empty prefix only when the clear had a cycle of its own)."""
    dut = Crc16()
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    out = []

    async def bench(ctx):
        for message in messages:
            seen = {}
            merge = message and rng.random() < 0.5
            if not merge:
                ctx.set(dut.clear, 1)
                await ctx.tick()
                ctx.set(dut.clear, 0)
                seen[0] = ctx.get(dut.crc)
            for index, byte in enumerate(message):
                while rng.random() < 0.3:
                    ctx.set(dut.data, rng.randrange(256))  # ignored without valid
                    await ctx.tick()
                ctx.set(dut.clear, merge and index == 0)
                ctx.set(dut.valid, 1)
                ctx.set(dut.data, byte)
                await ctx.tick()
                ctx.set(dut.valid, 0)
                ctx.set(dut.clear, 0)
                seen[index + 1] = ctx.get(dut.crc)
            out.append(seen)

    sim.add_testbench(bench)
    sim.run()
    return out


def test_references_agree_on_the_check_value():
    """CRC-16/CCITT-FALSE's catalogued check value, by both software references."""
    assert crc16(b"123456789") == crc16_bit_serial(b"123456789") == 0x29B1


def test_gateware_check_value_and_reset_value():
    """After a clear the CRC is the initial value; after b"123456789" the check value,
    whether the clear had its own cycle or came with the first byte."""
    firsts = set()
    for rng_seed in range(6):
        (seen,) = run_crc([b"123456789"], random.Random(rng_seed))
        firsts.add(0 in seen)
        assert seen.get(0, CRC16_INIT) == CRC16_INIT == 0xFFFF
        assert seen[9] == 0x29B1
    assert firsts == {False, True}


def test_gateware_random_messages():
    """120 random messages (0..64 bytes, edge bytes mixed in), every prefix compared."""
    rng = random.Random(SEED)
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    messages = [bytes(rng.choice([0x00, 0xFF, rng.randrange(256)])
                      for _ in range(rng.choice([0, 1, 2, rng.randrange(65)])))
                for _ in range(120)]
    results = run_crc(messages, rng)
    for message, seen in zip(messages, results):
        want = {n: crc16(message[:n]) for n in seen}
        assert seen == want, f"message {message.hex()}"
        assert seen[len(message)] == crc16_bit_serial(message)
