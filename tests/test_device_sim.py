"""The host driver (`tritherm.firmware.device`) and its transports.

Three layers: the driver's error handling against a scripted device (retries, refusals,
lost samples: things a healthy SoC never shows); the simulation harness with a stand-in
core (bytes in, bytes out, clock free-running while busy); and the real `SocCore` through
`SimTransport`: identify, matvec and coupler runs against the golden models, an 8x8
inverse with the board backend of `tritherm.sim.linalg`, a run stopped part way, and the
serial transport over a pseudo-terminal bridged to the simulation.
"""

import os
import struct
import time

import numpy as np
import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from tritherm.firmware.config import SIM_SOC_CONFIG
from tritherm.firmware.device import Device, DeviceError, padded_program
from tritherm.firmware.protocol import (IDENTITY_WORDS, MAGIC, MAX_PAYLOAD, PROTOCOL_VERSION,
                                        FrameParser, Op, Reg, Status, encode_frame, response)
from tritherm.firmware.transport import SimTransport, Transport
from tritherm.formats import COUPLER_FORMAT, SHAPER_SAMPLES
from tritherm.sim.verify.coupler_vectors import random_program

SESSION_SEED = int(os.environ.get("TRITHERM_SEED", "1"))


# --- a scripted device -------------------------------------------------------------------

def identity_words(config=SIM_SOC_CONFIG, magic=MAGIC, version=PROTOCOL_VERSION):
    """The identity registers of `config`, laid out as the protocol's Reg map says."""
    words = [0] * IDENTITY_WORDS
    fmt = COUPLER_FORMAT
    words[Reg.MAGIC], words[Reg.VERSION] = magic, version
    words[Reg.CLOCK_HZ], words[Reg.BAUD] = int(config.clock_hz), config.baud
    words[Reg.ARRAY_LANES], words[Reg.ARRAY_INPUTS] = config.array.lanes, config.array.inputs
    words[Reg.ARRAY_CAPACITY] = config.array.capacity
    words[Reg.ARRAY_ACC_WIDTH] = config.array.acc_width
    words[Reg.COUPLER_CELLS], words[Reg.COUPLER_MULTIPLIERS] = config.cells, config.multipliers
    words[Reg.COUPLER_SHAPER] = list(SHAPER_SAMPLES).index(config.shaper)
    words[Reg.COUPLER_FORMAT] = int.from_bytes(bytes([fmt.state.width, fmt.state.frac,
                                                      fmt.coef.frac, fmt.mult.frac]), "little")
    words[Reg.MAX_PAYLOAD] = MAX_PAYLOAD
    words[Reg.COUPLER_FEATURES] = (int(config.quartic) | 2 * int(config.moments)
                                   | 4 * int(config.stream))
    return words


def ok(op, data=b""):
    return encode_frame(response(op), bytes([Status.OK]) + data)


def sample_frame(seq, cells=SIM_SOC_CONFIG.cells):
    values = [(seq * 7 + i) % 100 - 50 for i in range(2 * cells)]
    return encode_frame(Op.SAMPLE, bytes([Status.OK]) + struct.pack("<IQ", seq, 0)
                        + struct.pack(f"<{2 * cells}h", *values))


class Scripted(Transport):
    """A device made of a function: every frame written gets `handler(frame, n)` back
    (n counts the frames of that opcode so far)."""

    resync_seconds = 0.01
    default_timeout = 0.2
    description = "the scripted device"

    def __init__(self, handler):
        self.handler = handler
        self.parser = FrameParser()
        self.out = bytearray()
        self.sent = []

    def write(self, data):
        for frame in self.parser.feed(data):
            self.sent.append(frame.op)
            self.out += self.handler(frame, self.sent.count(frame.op))

    def read(self, timeout):
        if not self.out:
            time.sleep(min(timeout, 0.002))
            return b""
        data = bytes(self.out)
        self.out.clear()
        return data


def identify_then(handler=None):
    def respond(frame, n):
        if frame.op == Op.IDENTIFY:
            return ok(Op.IDENTIFY, struct.pack(f"<{IDENTITY_WORDS}I", *identity_words()))
        return handler(frame, n) if handler else b""
    return respond


def test_identity_is_decoded_from_the_registers():
    device = Device(Scripted(identify_then()))
    ident = device.identify()
    assert ident.soc_config() == SIM_SOC_CONFIG.with_(array=ident.array)
    assert ident.array.capacity == SIM_SOC_CONFIG.array.capacity
    assert ident.differences(SIM_SOC_CONFIG) == []
    other = SIM_SOC_CONFIG.with_(cells=4, multipliers=2)
    assert ident.differences(other) == ["8 cells, not 4", "4 multipliers, not 2"]


def test_a_quartic_program_is_refused_by_a_coupler_without_the_pre_pass():
    """A SoC built without the quartic pre-pass says so in COUPLER_FEATURES; a program with
    k4 != 0 or QUARTIC = 1 is then one sentence, and nothing is sent."""
    config = SIM_SOC_CONFIG.with_(quartic=False)
    transport = Scripted(lambda f, n: ok(f.op, struct.pack(
        f"<{IDENTITY_WORDS}I", *identity_words(config))) if f.op == Op.IDENTIFY else ok(f.op))
    device = Device(transport)
    assert device.identify().quartic is False
    assert "no quartic pre-pass" in dict(device.identity.rows())["coupler"]
    program = random_program(np.random.default_rng(1), config.cells, "overdamped", True)
    for refused in (program, program.with_(quartic=0), program.writes()):
        with pytest.raises(ValueError, match=r"^the program has a quartic term \(k4 != 0 or "
                                             r"QUARTIC = 1\), but the device's coupler was "
                                             r"built without the quartic pre-pass$"):
            device.configure_coupler(refused)
    assert Op.COUPLER_WRITE not in transport.sent
    linear = program.with_(quartic=0, k4=np.zeros_like(program.k4))
    assert device.configure_coupler(linear) == len(linear.writes())


@pytest.mark.parametrize("words, message", [
    (identity_words(magic=0x12345678), "magic word is 0x12345678 instead of"),
    (identity_words(version=PROTOCOL_VERSION + 1), "speaks protocol version"),
])
def test_identify_rejects_a_foreign_device(words, message):
    device = Device(Scripted(lambda f, n: ok(Op.IDENTIFY, struct.pack(
        f"<{IDENTITY_WORDS}I", *words))))
    with pytest.raises(DeviceError, match=message) as info:
        device.identify()
    assert "\n" not in str(info.value)


def test_a_lost_response_is_retried_once():
    # The first IDENTIFY goes unanswered (as if its answer were lost), the second succeeds.
    def handler(frame, n):
        if n == 1:
            return b"\xa5\x81"           # half a frame, never finished
        return ok(Op.IDENTIFY, struct.pack(f"<{IDENTITY_WORDS}I", *identity_words()))
    device = Device(Scripted(handler))
    assert device.identify().cells == SIM_SOC_CONFIG.cells
    assert device.retries == 1


def test_an_error_frame_is_retried_and_then_reported():
    transport = Scripted(identify_then(
        lambda f, n: encode_frame(Op.ERROR, bytes([Status.BAD_CRC]))))
    device = Device(transport)
    with pytest.raises(DeviceError, match=r"did not answer WRITE_REG \(tried twice; it could "
                                          r"not read the frame: the frame arrived with a bad "
                                          r"CRC"):
        device.write_reg(Reg.FLAGS, 1)
    assert transport.sent.count(Op.WRITE_REG) == 2


def test_silence_is_one_sentence_after_two_tries():
    transport = Scripted(lambda f, n: b"")
    with pytest.raises(DeviceError) as info:
        Device(transport, timeout=0.05).identify()
    assert str(info.value) == ("the scripted device did not answer IDENTIFY (tried twice; "
                               "no answer within 0.05 s)")
    assert transport.sent == [Op.IDENTIFY, Op.IDENTIFY]


def test_a_refusal_names_the_command_and_the_status():
    device = Device(Scripted(identify_then(
        lambda f, n: encode_frame(response(f.op), bytes([Status.READ_ONLY])))))
    with pytest.raises(DeviceError, match="the device refused WRITE_REG: the register is "
                                          "read-only"):
        device.write_reg(Reg.MAGIC, 0)


def run_script(seqs, done_count=None):
    """A device whose COUPLER_RUN streams samples with sequence numbers `seqs`."""
    def handler(frame, n):
        if frame.op == Op.COUPLER_RUN:
            count = len(seqs) if done_count is None else done_count
            return (ok(Op.COUPLER_RUN) + b"".join(sample_frame(s) for s in seqs)
                    + encode_frame(Op.RUN_DONE, bytes([Status.OK]) + struct.pack(
                        "<II", seqs[-1] if seqs else 0, count)))
        if frame.op == Op.COUPLER_STOP:
            return encode_frame(Op.RUN_DONE, bytes([Status.OK]) + bytes(8))
        if frame.op == Op.COUPLER_WRITE:
            return ok(Op.COUPLER_WRITE)
        return b""
    return Scripted(identify_then(handler))


def test_samples_arrive_in_order_with_their_values():
    device = Device(run_script([3, 6, 9, 12]))
    got = device.sample(12)
    assert got.seq.tolist() == [3, 6, 9, 12]
    assert got.x[1].tolist() == [(6 * 7 + i) % 100 - 50 for i in range(8)]
    assert got.p[1].tolist() == [(6 * 7 + i) % 100 - 50 for i in range(8, 16)]


def test_a_lost_sample_is_named_and_the_run_stopped():
    transport = run_script([1, 2, 3, 5, 6])
    device = Device(transport)
    with pytest.raises(DeviceError, match="sample with seq 4 was lost: after seq 3 the "
                                          "device's next sample has seq 5"):
        device.sample(6)
    assert Op.COUPLER_STOP in transport.sent


def test_a_sample_lost_at_the_end_is_caught_by_the_count():
    device = Device(run_script([1, 2, 3], done_count=4))
    with pytest.raises(DeviceError, match="the device sent 4 samples but 3 arrived"):
        device.sample(4)


def test_thin_from_the_program_checks_the_first_gap():
    program = padded_program(_small_program(thin=2), 2)
    device = Device(run_script([2, 6, 8]))
    device.configure_coupler(program)
    with pytest.raises(DeviceError, match="seq 4 was lost"):
        device.sample(8)


def moments_frame(count, cells=SIM_SOC_CONFIG.cells):
    from tritherm.formats import moment_terms
    sums = [count * (t + 1) for t in range(moment_terms(cells))]
    return encode_frame(Op.MOMENTS, bytes([Status.OK]) + struct.pack("<HQ", count, 0)
                        + struct.pack(f"<{len(sums)}q", *sums))


def moments_device(counts, done_count=None):
    """A device whose COUPLER_MOMENTS answers blocks of `counts` samples."""
    def handler(frame, n):
        if frame.op == Op.COUPLER_MOMENTS:
            total = sum(counts) if done_count is None else done_count
            return (ok(Op.COUPLER_MOMENTS) + b"".join(moments_frame(c) for c in counts)
                    + encode_frame(Op.RUN_DONE, bytes([Status.OK]) + struct.pack(
                        "<II", 0, total)))
        if frame.op == Op.COUPLER_STOP:
            return encode_frame(Op.RUN_DONE, bytes([Status.OK]) + bytes(8))
        return b""
    return Scripted(identify_then(handler))


def test_blocks_of_moments_arrive_with_their_sums():
    got = Device(moments_device([4, 4, 2])).moments(10, 4)
    assert got.counts.tolist() == [4, 4, 2]
    assert got.sums[2].tolist() == [2 * (t + 1) for t in range(got.sums.shape[1])]


@pytest.mark.parametrize("counts, done, message", [
    ([4, 2, 4], None, "a block of moments was lost: after 6 samples a block of 4 arrived"),
    ([4, 4], 10, "the device sent 10 samples but 8 arrived"),
    ([4, 5], None, "a block of 5 arrived"),
])
def test_a_lost_block_of_moments_is_caught(counts, done, message):
    with pytest.raises(DeviceError, match=message):
        Device(moments_device(counts, done)).moments(12, 4)


def stream_device(firsts, done_count, saturated=0b101):
    """A device whose COUPLER_STREAM answers SAMPLES frames whose first samples have seqs
    `firsts` (THIN 1), then RUN_DONE with `done_count`; SATURATED_LO reads `saturated`."""
    from tritherm.firmware.protocol import stream_samples_per_frame
    cells, k = SIM_SOC_CONFIG.cells, stream_samples_per_frame(SIM_SOC_CONFIG.cells)

    def samples_frame(first):
        x = [(first + j) * 10 + i for j in range(k) for i in range(cells)]
        return encode_frame(Op.SAMPLES, bytes([Status.OK]) + struct.pack("<I", first)
                            + struct.pack(f"<{k * cells}h", *x))

    def handler(frame, n):
        if frame.op == Op.COUPLER_STREAM:
            return (ok(Op.COUPLER_STREAM) + b"".join(samples_frame(f) for f in firsts)
                    + encode_frame(Op.RUN_DONE, bytes([Status.OK]) + struct.pack(
                        "<II", 0, done_count)))
        if frame.op == Op.READ_REGS:
            return ok(Op.READ_REGS, struct.pack("<II", saturated, 0))
        if frame.op == Op.COUPLER_WRITE:
            return ok(Op.COUPLER_WRITE)
        if frame.op == Op.COUPLER_STOP:
            return encode_frame(Op.RUN_DONE, bytes([Status.OK]) + bytes(8))
        return b""
    return Scripted(identify_then(handler))


def thin_one_device(transport):
    """A Device that knows THIN = 1 (a program of 3 cells loaded)."""
    device = Device(transport)
    device.configure_coupler(padded_program(_small_program(thin=1), 3))
    return device


def test_compact_frames_give_x_and_the_final_flags_and_drop_the_padding():
    got = thin_one_device(stream_device([1, 32], done_count=40)).sample(40, compact=True)
    assert got.seq.tolist() == list(range(1, 41))
    assert got.x[35].tolist() == [36 * 10 + i for i in range(3)]
    assert got.p.shape == (40, 0)
    assert got.flags.tolist() == [[1, 0, 1]] * 40


@pytest.mark.parametrize("firsts, done, message", [
    ([1, 63], 40, "sample with seq 32 was lost: after seq 1"),
    ([1, 32], 70, "the device sent 70 samples but 62 arrived"),
    ([1, 32], 31, "the device sent 31 samples but 62 arrived"),
])
def test_a_lost_compact_frame_is_caught(firsts, done, message):
    with pytest.raises(DeviceError, match=message):
        thin_one_device(stream_device(firsts, done)).sample(80, compact=True)


def test_the_compact_stream_is_refused_on_a_soc_without_it():
    def respond(frame, n):
        words = identity_words(SIM_SOC_CONFIG.with_(stream=False))
        return ok(Op.IDENTIFY, struct.pack(f"<{IDENTITY_WORDS}I", *words))
    with pytest.raises(ValueError, match="built without the compact sample stream"):
        Device(Scripted(respond)).sample(10, compact=True)
    with pytest.raises(ValueError, match="either compact or in blocks"):
        Device(stream_device([], 0)).start_run(10, block=4, compact=True)


def test_moments_are_refused_on_a_soc_without_them():
    from tritherm.boards.catalog import get_board

    def respond(frame, n):
        words = identity_words(get_board("icebreaker").soc)
        return ok(Op.IDENTIFY, struct.pack(f"<{IDENTITY_WORDS}I", *words))
    with pytest.raises(ValueError, match="built without moments on chip"):
        Device(Scripted(respond)).moments(10, 4)


def _small_program(thin=1, seed=5):
    from tritherm.sim.golden import CouplerProgram
    return CouplerProgram.from_physical(np.array([[2.0, 0.5], [0.5, 1.0]]), None, 1.0, 4,
                                        "underdamped", 1.0, thin=thin, seed=seed)


def test_padded_program_keeps_the_small_problem_uncoupled():
    program = _small_program()
    big = padded_program(program, 8)
    assert big.cells == 8
    assert np.array_equal(big.A[:2, :2], program.A)
    assert not big.A[:2, 2:].any() and not big.A[2:, :2].any()
    assert (np.diag(big.A)[2:] == program.A.max()).all()
    with pytest.raises(ValueError, match="only 1"):
        padded_program(program, 1)


# --- the harness with a stand-in core ----------------------------------------------------

class DelayedEcho(wiring.Component):
    """Echoes each byte `delay` cycles after taking it, busy meanwhile (a stand-in with
    SocCore's rx, tx and busy ports)."""

    rx: In(stream.Signature(8))
    tx: Out(stream.Signature(8))
    busy: Out(1)

    def __init__(self, delay: int):
        self.delay = delay
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        hold, byte = Signal(), Signal(8)
        count = Signal(range(self.delay + 1))
        m.d.comb += [self.rx.ready.eq(~hold), self.busy.eq(hold), self.tx.payload.eq(byte),
                     self.tx.valid.eq(hold & (count == 0))]
        with m.If(self.rx.valid & self.rx.ready):
            m.d.sync += [hold.eq(1), byte.eq(self.rx.payload), count.eq(self.delay)]
        with m.Elif(hold & (count != 0)):
            m.d.sync += count.eq(count - 1)
        with m.Elif(self.tx.valid & self.tx.ready):
            m.d.sync += hold.eq(0)
        return m


def _read_exactly(transport, n, timeout=20.0):
    got = bytearray()
    end = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < end:
        got += transport.read(end - time.monotonic())
    return bytes(got)


def test_harness_moves_bytes_and_runs_while_busy():
    """Each byte takes 1000 busy cycles with no input: the clock must free-run then, and
    block (not spin) while idle between the two writes."""
    rng = np.random.default_rng(SESSION_SEED)
    print(f"seed {SESSION_SEED}")
    with SimTransport(component=DelayedEcho(1000)) as transport:
        first = rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()
        transport.write(first)
        assert _read_exactly(transport, len(first)) == first
        assert transport.read(0.2) == b""               # idle: nothing more comes
        second = bytes(range(256))
        transport.write(second)
        assert _read_exactly(transport, len(second)) == second


# --- the real SocCore through SimTransport -----------------------------------------------

@pytest.fixture(scope="module")
def device():
    from tritherm.firmware.device import open_device
    with open_device("sim", SIM_SOC_CONFIG) as dev:
        yield dev


@pytest.fixture
def rng():
    print(f"seed {SESSION_SEED}")
    return np.random.default_rng(SESSION_SEED)


def test_identify_the_simulated_soc(device):
    ident = device.identify()
    assert ident.differences(SIM_SOC_CONFIG) == []
    assert ident.array.acc_width == ident.acc_width
    report = device.flags()
    assert not report.running and report.flags == () and report.saturated == ()


def test_refusals_of_the_real_device_are_sentences(device):
    with pytest.raises(DeviceError, match="^the device refused WRITE_REG: the register is "
                                          "read-only$"):
        device.write_reg(Reg.MAGIC, 0)
    with pytest.raises(ValueError, match="K <= 60"):
        device.matvec(np.ones(61, dtype=np.int8))


def test_matvec_tiles_match_the_golden_model(device, rng):
    from tritherm.sim.golden import ternary_matmul
    shape = device.identity.array
    # More rows than lanes and a K longer than the array holds: several tiles, K chunks.
    w = rng.integers(-1, 2, (2 * shape.lanes + 1, 2 * shape.capacity + 7))
    x = rng.integers(-128, 128, (3, w.shape[1]))
    run = device.matmul(w, x)
    assert run.mismatch is None and run.tiles == 3 * 3
    assert np.array_equal(run.result, ternary_matmul(w, x))
    # One tile by hand: packed image, then a single vector.
    tile = rng.integers(-1, 2, (shape.lanes, 23))
    device.load_weights(tile)
    vector = rng.integers(-128, 128, 23)
    assert np.array_equal(device.matvec(vector), ternary_matmul(tile, vector))


@pytest.mark.parametrize("cells, mode, quartic, thin", [
    (8, "underdamped", True, 1),
    (3, "overdamped", False, 3),      # fewer cells than the coupler: padded, still exact
])
def test_coupler_samples_are_the_golden_models(device, rng, cells, mode, quartic, thin):
    from tritherm.sim.golden import CouplerModel
    program = random_program(rng, cells, mode, quartic, thin=thin)
    device.configure_coupler(program)
    got = device.sample(600)
    model = CouplerModel(cells, program.shaper)
    model.load(program.writes())
    want = model.run(600)
    assert len(got) == 600 // thin
    for key in ("seq", "flags", "x", "p"):
        assert np.array_equal(getattr(got, key), getattr(want, key)), key
    # A second run continues where the first stopped, as the model does.
    assert np.array_equal(device.sample(30).x, model.run(30).x)


@pytest.mark.parametrize("cells, mode, thin, steps", [
    (8, "overdamped", 1, 31 * 3),      # whole frames
    (3, "underdamped", 3, 200),       # padded: 66 samples, the last frame of 4
])
def test_compact_stream_is_the_golden_models_x(device, rng, cells, mode, thin, steps):
    """COUPLER_STREAM: every x word and seq equal the golden model's; the flags are its
    sticky flags at the end."""
    from tritherm.sim.golden import CouplerModel
    program = random_program(rng, cells, mode, False, saturate=True, thin=thin)
    device.configure_coupler(program)
    device.flags(clear=True)
    model = CouplerModel(cells, program.shaper)
    model.load(program.writes())
    want = model.run(steps)
    got = device.sample(steps, compact=True)
    assert len(got) == steps // thin
    assert np.array_equal(got.seq, want.seq) and np.array_equal(got.x, want.x)
    assert (got.flags == model.flags[None, :]).all()      # set or not, as the model says
    # A sample run after it continues where it stopped, as the model does.
    assert np.array_equal(device.sample(30).x, model.run(30).x)


def test_linalg_sample_over_the_compact_stream_equals_golden(device, rng):
    from tritherm.sim import linalg
    from tritherm.sim.verify.coupler_vectors import random_spd
    A = random_spd(rng, 4, 5.0, 3.0)
    seed = SESSION_SEED % 1000
    board = linalg.sample(A, 500, backend="board", device=device, seed=seed, compact=True)
    golden = linalg.sample(A, 500, backend="golden", seed=seed)
    assert board.raw.p.shape == (500, 0)
    assert np.array_equal(board.raw.x, golden.raw.x)
    assert np.array_equal(board.raw.seq, golden.raw.seq)
    assert np.array_equal(board.estimate, golden.estimate)


def test_inverse_8x8_through_the_board_backend(device, rng):
    from tritherm.sim import linalg
    from tritherm.sim.verify.coupler_vectors import random_spd
    from tritherm.sim.golden import discrete_stationary_covariance
    A = random_spd(rng, 8, 5.0, 3.0)
    r = linalg.inverse(A, 4000, backend="board", device=device, seed=SESSION_SEED % 1000,
                       moments=False)
    golden = linalg.inverse(A, 4000, backend="golden", seed=SESSION_SEED % 1000)
    assert np.array_equal(r.raw.x, golden.raw.x) and np.array_equal(r.raw.seq, golden.raw.seq)
    # Against what the discrete chain samples exactly (kT times the quantised A's inverse):
    target = discrete_stationary_covariance(r.program)[:8, :8] / (r.kT * r.scale)
    se = np.linalg.norm(r.standard_error) / np.linalg.norm(target)
    error = np.linalg.norm(r.estimate - target) / np.linalg.norm(target)
    print(f"8x8 inverse: relative error {error:.3g}, standard error {se:.3g}")
    assert error < 3 * se
    assert np.all(np.abs(r.estimate - target) < 5 * r.standard_error + 1e-9)


@pytest.mark.parametrize("cells, mode, thin, block", [
    (8, "underdamped", 1, 7),
    (3, "overdamped", 3, 64),         # fewer cells than the coupler: its sums only
])
def test_coupler_moments_are_the_golden_models(device, rng, cells, mode, thin, block):
    from tritherm.sim.golden import CouplerModel, block_moments
    program = random_program(rng, cells, mode, False, saturate=True, thin=thin)
    device.configure_coupler(program)
    got = device.moments(600, block)
    model = CouplerModel(cells, program.shaper)
    model.load(program.writes())
    samples = model.run(600)
    flags = sum(int(f) << i for i, f in enumerate(samples.flags[-1]))
    assert got == block_moments(samples.x, samples.p, block, flags)
    assert got.samples == 600 // thin


def test_inverse_and_solve_with_moments_on_chip_equal_the_golden_moments(device, rng):
    """The board backend's default on this SoC: the moments on chip, bit for bit the
    golden backend's block moments, so every estimate and standard error is identical."""
    from tritherm.sim import linalg
    from tritherm.sim.verify.coupler_vectors import random_spd
    A = random_spd(rng, 8, 10.0, 3.0)
    b = rng.normal(size=8)
    seed = SESSION_SEED % 1000
    for run in (lambda **kw: linalg.inverse(A, 1000, seed=seed, **kw),
                lambda **kw: linalg.solve(A, b, 500, seed=seed, **kw)):
        board = run(backend="board", device=device)
        golden = run(backend="golden", moments=True)
        assert board.raw is None and board.moments == golden.moments
        assert len(board.moments.counts) == linalg.MOMENT_BLOCKS
        assert np.array_equal(board.estimate, golden.estimate)
        assert np.array_equal(board.standard_error, golden.standard_error)
        assert board.relative_error < 6 * np.linalg.norm(board.standard_error) / np.linalg.norm(
            board.exact)


def test_a_run_stopped_part_way(device, rng):
    device.configure_coupler(random_program(rng, 8, "underdamped", False, thin=1))
    run = device.start_run(10 ** 9)
    first = [sample for _, sample in zip(range(40), run)]
    run.stop()
    rest = list(run)
    step, sent = run.done
    assert sent == len(first) + len(rest) == run.received
    assert step == first[0].seq + sent - 1 == (rest or first)[-1].seq
    assert not device.flags().running
    assert device.stop() is None                  # nothing runs: COUPLER_STOP is just OK
    assert device.identify().cells == SIM_SOC_CONFIG.cells


def test_noise_beats(device):
    from tritherm.formats import NOISE_FORMAT
    values = device.noise(80)                      # three NOISE commands
    assert values.shape == (80, SIM_SOC_CONFIG.cells)
    assert values.min() >= NOISE_FORMAT.min and values.max() <= NOISE_FORMAT.max
    sd = values.std() / NOISE_FORMAT.one
    assert 0.8 < sd < 1.2 and abs(values.mean()) / NOISE_FORMAT.one < 0.2


def test_garbage_and_a_corrupted_frame_cost_one_retry(device):
    device.flags(clear=True)
    garbage = bytes(range(0x10, 0x30))               # no SYNC in it
    bad = bytearray(encode_frame(Op.IDENTIFY))
    bad[-1] ^= 0x40
    device.transport.write(garbage + bytes(bad))     # the device answers ERROR (bad CRC)
    retries = device.retries
    assert device.identify().cells == SIM_SOC_CONFIG.cells
    assert device.retries == retries + 1
    counters = device.flags(clear=True).counters
    assert counters["garbage"] == len(garbage) and counters["bad_crc"] == 1


# --- the iCEBreaker's own SoC (its board configuration) through SimTransport ----------------

@pytest.fixture(scope="module")
def icebreaker():
    """The SoC the iCEBreaker bitstream holds (8 cells on 4 multipliers, ICDF noise, no
    quartic pre-pass, a 1 x 5 array, 24 MHz), simulated: the host code a user runs against
    the board, on the same gateware."""
    from tritherm.boards.catalog import get_board
    from tritherm.firmware.device import open_device
    config = get_board("icebreaker").soc
    with open_device("sim", config, what="the icebreaker SoC") as dev:
        yield dev


def test_the_icebreaker_soc_identifies_as_its_board_config(icebreaker):
    from tritherm.boards.catalog import get_board
    config = get_board("icebreaker").soc
    ident = icebreaker.identify()
    assert ident.differences(config) == []
    assert (ident.cells, ident.shaper, ident.array.lanes, ident.quartic) == (
        8, config.shaper, config.array.lanes, False)


def test_the_icebreaker_soc_matvec_and_samples_match_the_golden_models(icebreaker, rng):
    from tritherm.sim.golden import CouplerModel, ternary_matmul
    shape = icebreaker.identity.array
    w = rng.integers(-1, 2, (3 * shape.lanes, shape.capacity + 9))     # 3 x 2 tiles
    x = rng.integers(-128, 128, (2, w.shape[1]))
    run = icebreaker.matmul(w, x)
    assert run.mismatch is None and np.array_equal(run.result, ternary_matmul(w, x))
    cells = icebreaker.identity.cells
    for mode in ("underdamped", "overdamped"):
        program = random_program(rng, cells, mode, False)
        icebreaker.configure_coupler(program)
        got = icebreaker.sample(300)
        model = CouplerModel(cells, "icdf", quartic=False)
        model.load(program.writes())
        want = model.run(300)
        for key in ("seq", "flags", "x", "p"):
            assert np.array_equal(getattr(got, key), getattr(want, key)), (mode, key)
    with pytest.raises(ValueError, match="built without the quartic pre-pass"):
        icebreaker.configure_coupler(random_program(rng, cells, "overdamped", True))


def test_the_icebreaker_soc_inverts_an_8x8_matrix_as_the_golden_model(icebreaker, rng):
    """`linalg inv` of an 8 x 8 matrix through the simulated iCEBreaker SoC: every sample,
    and so the estimate, identical to the golden backend's for the same seed."""
    from tritherm.sim import linalg
    from tritherm.sim.verify.coupler_vectors import random_spd
    A = random_spd(rng, 8, 10.0, 3.0)
    seed = SESSION_SEED % 1000
    board = linalg.inverse(A, 300, backend="board", device=icebreaker, seed=seed)
    golden = linalg.inverse(A, 300, backend="golden", seed=seed)
    assert board.program.shaper == golden.program.shaper == "icdf"
    for key in ("seq", "flags", "x", "p"):
        assert np.array_equal(getattr(board.raw, key), getattr(golden.raw, key)), key
    assert np.array_equal(board.estimate, golden.estimate)
    print(f"8x8 inverse on the iCEBreaker SoC: {len(board.raw)} samples, relative error "
          f"{board.relative_error:.3g} against A^-1, identical to the golden backend")
