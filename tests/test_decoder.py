"""The base-3 weight decoder on the Amaranth simulator, for all 256 byte values."""

from amaranth.sim import Simulator

from tritherm.hdl.ternary import Base3Decoder
from tritherm.sim.golden import decode_base3_byte


def simulate_all_bytes():
    """Drive every byte value; return {value: (weights, invalid, raw 10-bit weights word)}."""
    dut = Base3Decoder()
    sim = Simulator(dut)
    seen = {}

    async def bench(ctx):
        for value in range(256):
            ctx.set(dut.byte, value)
            weights = [ctx.get(dut.weights[i]) for i in range(5)]
            assert weights == [ctx.get(dut.weights)[i] for i in range(5)]
            seen[value] = (weights, ctx.get(dut.invalid), ctx.get(dut.weights.as_value()))

    sim.add_testbench(bench)
    sim.run()
    assert sorted(seen) == list(range(256))
    return seen


def expected_by_divmod(value):
    """Independent expectation: five base-3 digits, least significant first, weight = digit - 1;
    bytes 243..255 (3**5 and up) are invalid and decode to zeros."""
    if value >= 3 ** 5:
        return [0] * 5, 1
    digits = []
    for _ in range(5):
        value, digit = divmod(value, 3)
        digits.append(digit - 1)
    return digits, 0


def test_decoder_matches_golden_model():
    for value, (weights, invalid, _) in simulate_all_bytes().items():
        golden_weights, golden_invalid = decode_base3_byte(value)
        assert (weights, bool(invalid)) == (golden_weights, golden_invalid), f"byte {value}"


def test_decoder_matches_divmod():
    for value, (weights, invalid, _) in simulate_all_bytes().items():
        assert (weights, invalid) == expected_by_divmod(value), f"byte {value}"


def test_decoder_bit_layout():
    # Weight i sits in bits 2i+1:2i as two's complement signed(2): -1 -> 0b11, 0 -> 0b00,
    # +1 -> 0b01 (bit 0 "non-zero", bit 1 "negative").
    for value, (_, _, raw) in simulate_all_bytes().items():
        weights, _ = expected_by_divmod(value)
        assert raw == sum((w & 0b11) << (2 * i) for i, w in enumerate(weights)), f"byte {value}"
