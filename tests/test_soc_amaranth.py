"""`SocCore` in the Amaranth simulator at byte level: every byte it answers is compared with
the golden `SocModel` (scripts and driver shared with the cocotb tests in
`tritherm.sim.verify.soc_vectors`)."""

import os

import pytest

from tritherm.firmware.config import SocConfig
from tritherm.firmware.protocol import Flag, Op, Reg, pack_load_weights, pack_matvec, pack_write_reg
from tritherm.firmware.soc import Soc, SocCore, frame_timeout_cycles
from tritherm.formats import TernaryArrayShape
from tritherm.sim.verify import soc_vectors as sv

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")
CONFIG = sv.SOC_TEST_CONFIG


def play(script, config=CONFIG, stall=0.0):
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED}); host stalls {stall:.0%} of bytes")
    result = sv.run_amaranth(config, script, stall=stall, seed=SEED)
    assert result["busy"] == 0, "busy is high with nothing left to do"
    return result


def test_identify_and_registers():
    play(sv.identify_script())


def test_flags_and_counters():
    play(sv.registers_script(), stall=0.3)


def test_weights_and_matvec():
    play(sv.matvec_script(CONFIG, SEED))


def test_matvec_on_another_array_shape():
    """Three lanes of eight inputs: two packed bytes a lane, a row of six bytes."""
    config = CONFIG.with_(array=TernaryArrayShape(lanes=3, inputs=8, max_k=24))
    play(sv.matvec_script(config, SEED, jobs=2), config=config, stall=0.5)


def test_coupler_configuration_and_runs():
    play(sv.coupler_script(CONFIG, SEED), stall=0.2)


def test_noise():
    play(sv.noise_script(CONFIG, SEED))


def test_bad_frames_are_answered_and_the_next_good_frame_succeeds():
    play(sv.error_script())


def test_run_stopped_with_coupler_stop():
    play(sv.stop_script(CONFIG, SEED), stall=0.5)


def test_leds_show_a_sticky_flag_until_it_is_cleared():
    weights = sv.Send(sv.frame(Op.LOAD_WEIGHTS, pack_load_weights(0, b"\xf3")), "bad code")
    matvec = sv.Send(sv.frame(Op.MATVEC, pack_matvec([1])), "MATVEC")
    clear = sv.Send(sv.frame(Op.WRITE_REG, pack_write_reg(Reg.FLAGS, Flag.ARRAY_INVALID_CODE)),
                    "clear")
    assert play([weights, matvec])["leds"] == 0b100
    assert play([weights, matvec, clear])["leds"] == 0b000


def test_frame_timeout_follows_the_baud_rate():
    assert frame_timeout_cycles(CONFIG) == 64 * 10 * 8
    assert frame_timeout_cycles(CONFIG.with_(baud=1_000_000)) == 64 * 10 * 24


def test_parameters_are_checked():
    with pytest.raises(TypeError, match="SocConfig"):
        SocCore("icebreaker")
    with pytest.raises(TypeError, match="SocConfig"):
        Soc(None)
    with pytest.raises(ValueError, match="baud"):
        Soc(SocConfig(array=TernaryArrayShape(4, 5, 60), clock_hz=12e6, baud=10_000_000))


def test_coupler_moments():
    """Block moments, both modes, saturating, a stopped run with frames dropped during it."""
    play(sv.moments_script(CONFIG, SEED), stall=0.2)


def test_corrupted_frames_between_commands():
    """Corrupted commands (moments runs among them), each followed by the intact one."""
    play(sv.corruption_script(CONFIG, SEED, 9))


def test_compact_sample_stream():
    """COUPLER_STREAM: SAMPLES frames of x equal golden's, full, padded and stopped runs."""
    play(sv.stream_script(CONFIG, SEED), stall=0.2)
