"""Generative thermodynamic computing (Whitelam, PRL 136, 037101, 2026) on the digits, in float.

The model is a network of ``N = 64 + H`` overdamped Langevin units, 64 visible (one a pixel)
and ``H`` hidden, in the potential of digit ``d``

    V_d(x) = sum_i (J2 x_i^2 + J4 x_i^4 + b_di x_i) + sum_{i<j} J_ij x_i x_j,

    dx_i = -dV_d/dx_i dt + sqrt(2 kT) dW_i        (mu = 1, J2 = J4 = 1, kT = 0.1),

integrated by Euler-Maruyama with the step ``h = 2**-HSHIFT = 2**-10`` (the coupler's step
is a power of two; the reference's dt is 1e-3), for ``t_f = 2.5`` (``STEPS = 2560`` steps).
That update is exactly what the coupler's overdamped mode computes with
``A = J + 2 J2 I``, ``b_coupler = -b_d``, ``k4 = 4 J4`` (`tritherm.apps.generate.integer`).

Design (each choice is a field of the shipped model, so a model says how it was made):

- Scaling: a grey level ``p`` in 0..16 is ``s = p / 8 - 1`` in [-1, 1]; the data enters as
  the force ``FORCE_SCALE * s = 4 s`` on its visible unit, which holds x near the root of
  ``2 J2 x + 4 J4 x^3 = 4 s``: x in [-0.84, 0.84] (thermal spread about 0.1), far inside the
  coupler's state range [-32, 32) and the quartic intermediates' (|x| < 3.17).
  `decode` inverts that force balance: ``s = (2 J2 x + 4 J4 x^3) / 4``, clipped to 0..16.
- Hidden units: during noising, hidden unit k feels ``HIDDEN_SCALE * z_k = 2 z_k``, with z the
  standardised random projection of the image (``z = (P s - mean) / std`` over the training
  split, P Gaussian from the seed), as in the reference's follow-up. They carry no force
  when generating; what they hold then is what the trained couplings put there.
- Couplings: visible-hidden, hidden-hidden and, unlike the reference, visible-visible (one
  dense symmetric J with a zero diagonal): without them generated images land further from
  the data (nearest-neighbour distance 29 against 23-26, same recognition) for 4,096 more
  coefficients, all of which the coupler's dense A holds anyway.
- Conditioning: one bias vector per digit, ``b`` of shape (10, N), the couplings shared: the
  program of digit d is the shared A with its own b (192 register writes to switch digit).
- Training: the noising protocol of the reference, per training image (all 1,437, at once):
  relax from x = 0 for t_f under the uncoupled potential with the data force, then run t_f
  with the force falling linearly to zero at 0.75 t_f (`RAMP_STEPS`) and zero after. The
  model should make the time-reversed trajectory likely: the discrete Onsager-Machlup
  action of a reversed step ``x' = x_(k+1) -> x_k`` is ``|x_k - x' + h grad V(x')|^2 /
  (4 kT h)``. The gradient of V is linear in (J, b), so the action is quadratic in them
  and is a function of a few sums over the trajectories (`NoisingStats`): training
  accumulates those sums (vectorised over trajectories, in float32 with float64 sums) and
  minimises ``mean action per trajectory + ridge/2 |J|^2 + bias_ridge/2 |b|^2`` exactly,
  by conjugate gradients. The ridge is what keeps the dynamics stable: with ridge -> 0
  the generated states run to the quartic walls (recognised fraction 0.5 at ridge 0.7 for
  H = 128); too large a ridge gives one template per digit (recognised 1.0, diversity no
  more than the thermal noise). Each epoch draws fresh noise for every trajectory, adds its
  sums to the others and solves again, warm-started.
- Generation: relax from x = 0 for t_f under the uncoupled potential (the starting noise,
  what the coupler does with A = 2 J2 I, b = 0), then run the trained dynamics for t_f.

Everything is deterministic from the seed (one BLAS thread while training).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable

import numpy as np

from tritherm.errors import UserError
from tritherm.files import atomic_output
from tritherm.threads import one_blas_thread

__all__ = [
    "PIXELS", "CLASSES", "KT", "J2", "J4", "HSHIFT", "STEP", "T_FINAL", "STEPS", "RAMP_STEPS",
    "FORCE_SCALE", "HIDDEN_SCALE", "DEFAULT_HIDDEN", "DEFAULT_EPOCHS", "DEFAULT_RIDGE",
    "DEFAULT_BIAS_RIDGE", "TRAIN_COMMAND", "MODEL_PATH",
    "TrainConfig", "EpochReport", "GenerativeModel", "Generated",
    "encode", "decode", "coupling_mask", "force_ramp", "relax", "noising_trajectories",
    "NoisingStats", "noising_stats", "action", "action_gradient", "solve", "train",
    "train_and_save", "load_model", "generate_states", "generate", "heat", "thermal_images",
    "check_digit", "check_count", "check_seed",
]

#: Pixels (visible units) and digits.
PIXELS = 64
CLASSES = 10
#: The reference's physical constants (mu = 1).
KT = 0.1
J2 = 1.0
J4 = 1.0
#: The step h = 2**-HSHIFT (the coupler's HSHIFT register), t_f and the steps in it.
HSHIFT = 10
STEP = 2.0 ** -HSHIFT
T_FINAL = 2.5
STEPS = round(T_FINAL / STEP)                    # 2560
#: The data force falls linearly to zero at 0.75 t_f.
RAMP_STEPS = round(0.75 * T_FINAL / STEP)        # 1920
#: Data force on a visible unit per unit of s = p / 8 - 1, and on a hidden unit per unit of
#: its standardised projection.
FORCE_SCALE = 4.0
HIDDEN_SCALE = 2.0
#: The shipped model's hyper-parameters.
DEFAULT_HIDDEN = 128
DEFAULT_EPOCHS = 2
DEFAULT_RIDGE = 2.0
DEFAULT_BIAS_RIDGE = 2e-4
#: The command that writes the shipped model (recorded inside it).
TRAIN_COMMAND = "tritherm apps generate train --seed 1"
#: Where the shipped model lives.
MODEL_PATH = Path(__file__).with_name("model.npz")

_FORMAT_VERSION = 1
_MAX_HIDDEN = 1024
_MAX_EPOCHS = 100
_MAX_COUNT = 100_000


# --- argument checks (one sentence each, as the command line reports them) ----------------

def _integer(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or not low <= int(value) <= high:
        raise UserError(f"{name} must be an integer in {low}..{high}, got {value!r}")
    return int(value)


def check_digit(digit) -> int:
    """`digit` as an int, or a UserError unless it is a digit 0..9."""
    return _integer(digit, "digit", 0, CLASSES - 1)


def check_count(count) -> int:
    """`count` as an int, or a UserError unless it is 1..100000."""
    return _integer(count, "count", 1, _MAX_COUNT)


def check_seed(seed) -> int:
    """`seed` as an int, or a UserError unless it is in 0..2**32-1."""
    return _integer(seed, "seed", 0, (1 << 32) - 1)


# --- configuration, model --------------------------------------------------------------------

@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run.

    Parameters
    ----------
    hidden : int
        Hidden units H (1..1024); the network has 64 + H units.
    epochs : int
        Passes over the training images, each with fresh noise (1..100).
    ridge, bias_ridge : float
        Ridge weights on the couplings and on the biases (>= 0).
    visible_couplings : bool
        Couple visible units with each other (the reference does not).
    digits : tuple of int, optional
        Train on these digits' images only (a short run for tests); all ten by default.
    images_per_digit : int, optional
        At most this many training images of each digit (tests); all by default.
    """

    hidden: int = DEFAULT_HIDDEN
    epochs: int = DEFAULT_EPOCHS
    ridge: float = DEFAULT_RIDGE
    bias_ridge: float = DEFAULT_BIAS_RIDGE
    visible_couplings: bool = True
    digits: tuple[int, ...] | None = None
    images_per_digit: int | None = None

    def __post_init__(self):
        _integer(self.hidden, "hidden", 1, _MAX_HIDDEN)
        _integer(self.epochs, "epochs", 1, _MAX_EPOCHS)
        for name in ("ridge", "bias_ridge"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
                raise UserError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.digits is not None:
            if len(self.digits) == 0:
                raise UserError("digits must name at least one digit 0..9")
            for d in self.digits:
                check_digit(d)
        if self.images_per_digit is not None:
            _integer(self.images_per_digit, "images_per_digit", 1, 10_000)


@dataclass(frozen=True)
class EpochReport:
    """What the progress callback receives after each epoch.

    Attributes
    ----------
    epoch, epochs : int
        This epoch (1-based) and the number of epochs.
    action : float
        Mean Onsager-Machlup action per trajectory of this epoch's fresh trajectories under
        the model trained so far (before this epoch's update: a held-out figure).
    action_trained : float
        The same after this epoch's update.
    action_uncoupled : float
        The same under the uncoupled model (J = 0, b = 0), for scale. The noise alone gives
        about ``N * STEPS / 2`` (Gaussian increments), whatever the model.
    seconds : float
        Time since training started.
    """

    epoch: int
    epochs: int
    action: float
    action_trained: float
    action_uncoupled: float
    seconds: float

    def __str__(self) -> str:
        return (f"epoch {self.epoch}/{self.epochs}: action {self.action:.1f} per trajectory "
                f"before the update, {self.action_trained:.1f} after "
                f"(uncoupled model {self.action_uncoupled:.1f}), {self.seconds:.0f} s")


@dataclass
class GenerativeModel:
    """A trained network: couplings J (N x N, symmetric, zero diagonal), biases b (10 x N),
    the hidden units' noising projection and how it was made.

    Attributes
    ----------
    couplings : ndarray (N, N)
    bias : ndarray (10, N)
        Row d is digit d's bias (V has ``+ b_d . x``).
    projection, projection_mean, projection_std : ndarray
        The noising force on hidden unit k is ``HIDDEN_SCALE * ((P s)_k - mean_k) / std_k``.
    config : TrainConfig
    seed : int
    meta : dict
        ``command``, ``train_seconds``, ``actions`` (per epoch), ``images``.
    """

    couplings: np.ndarray
    bias: np.ndarray
    projection: np.ndarray
    projection_mean: np.ndarray
    projection_std: np.ndarray
    config: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0
    meta: dict = field(default_factory=dict)
    kT: float = KT
    J2: float = J2
    J4: float = J4
    hshift: int = HSHIFT
    steps: int = STEPS
    force_scale: float = FORCE_SCALE
    hidden_scale: float = HIDDEN_SCALE

    @property
    def hidden(self) -> int:
        return self.couplings.shape[0] - PIXELS

    @property
    def cells(self) -> int:
        """Units of the network (cells of the coupler)."""
        return self.couplings.shape[0]

    @property
    def h(self) -> float:
        return 2.0 ** -self.hshift

    def data_force(self, images) -> np.ndarray:
        """The noising force (n, N) on every unit for grey-level images (n, 64)."""
        s = encode(images)
        z = (s @ self.projection.T - self.projection_mean) / self.projection_std
        return np.concatenate([self.force_scale * s, self.hidden_scale * z], axis=1)

    def potential(self, x, digit: int) -> np.ndarray:
        """V_digit(x) for states x (..., N)."""
        x = np.asarray(x, dtype=float)
        return (self.J2 * x * x + self.J4 * x ** 4 + self.bias[digit] * x).sum(-1) \
            + 0.5 * np.einsum("...i,ij,...j->...", x, self.couplings, x)

    def gradient(self, x, digit) -> np.ndarray:
        """grad V_digit(x); `digit` an int or an array of digits, one a row of x."""
        x = np.asarray(x, dtype=float)
        return self.J2 * 2 * x + self.J4 * 4 * x ** 3 + x @ self.couplings + self.bias[digit]

    # -- files ----------------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the model to `path` (.npz), complete or not at all."""
        path = Path(path)
        cfg = self.config
        arrays = dict(
            format_version=np.int64(_FORMAT_VERSION),
            couplings=self.couplings.astype(np.float32),
            bias=self.bias.astype(np.float32),
            projection=self.projection.astype(np.float32),
            projection_mean=self.projection_mean.astype(np.float32),
            projection_std=self.projection_std.astype(np.float32),
            kT=np.float64(self.kT), J2=np.float64(self.J2), J4=np.float64(self.J4),
            hshift=np.int64(self.hshift), steps=np.int64(self.steps),
            force_scale=np.float64(self.force_scale),
            hidden_scale=np.float64(self.hidden_scale),
            hidden=np.int64(cfg.hidden), epochs=np.int64(cfg.epochs),
            ridge=np.float64(cfg.ridge), bias_ridge=np.float64(cfg.bias_ridge),
            visible_couplings=np.bool_(cfg.visible_couplings),
            digits=np.array(cfg.digits if cfg.digits is not None else [], dtype=np.int64),
            images_per_digit=np.int64(cfg.images_per_digit or 0),
            seed=np.int64(self.seed),
            command=np.str_(self.meta.get("command", "")),
            train_seconds=np.float64(self.meta.get("train_seconds", np.nan)),
            actions=np.asarray(self.meta.get("actions", []), dtype=np.float64),
            images=np.int64(self.meta.get("images", 0)),
        )
        with atomic_output(path, "model file") as handle:
            np.savez_compressed(handle, **arrays)

    @classmethod
    def load(cls, path) -> GenerativeModel:
        """Read a model written by `save`; a UserError if it is not one."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                d = {k: data[k] for k in data.files}
        except (OSError, ValueError) as error:
            raise UserError(f"cannot read a generative model from {path}: {error}") from None
        if int(d.get("format_version", -1)) != _FORMAT_VERSION:
            raise UserError(f"{path} is not a generative model of format {_FORMAT_VERSION}")
        digits = tuple(int(v) for v in d["digits"]) or None
        config = TrainConfig(hidden=int(d["hidden"]), epochs=int(d["epochs"]),
                             ridge=float(d["ridge"]), bias_ridge=float(d["bias_ridge"]),
                             visible_couplings=bool(d["visible_couplings"]), digits=digits,
                             images_per_digit=int(d["images_per_digit"]) or None)
        meta = {"command": str(d["command"]), "train_seconds": float(d["train_seconds"]),
                "actions": [float(v) for v in d["actions"]], "images": int(d["images"])}

        def f64(key):
            return d[key].astype(np.float64)
        return cls(couplings=f64("couplings"), bias=f64("bias"), projection=f64("projection"),
                   projection_mean=f64("projection_mean"), projection_std=f64("projection_std"),
                   config=config, seed=int(d["seed"]), meta=meta, kT=float(d["kT"]),
                   J2=float(d["J2"]), J4=float(d["J4"]), hshift=int(d["hshift"]),
                   steps=int(d["steps"]), force_scale=float(d["force_scale"]),
                   hidden_scale=float(d["hidden_scale"]))


def load_model(path=None) -> GenerativeModel:
    """The model at `path`, or the shipped one (`MODEL_PATH`)."""
    path = MODEL_PATH if path is None else Path(path)
    if not path.exists():
        raise UserError(f"no generative model at {path}: train one with '{TRAIN_COMMAND}'")
    return GenerativeModel.load(path)


# --- encoding ------------------------------------------------------------------------------

def encode(images) -> np.ndarray:
    """Grey levels 0..16 -> s = p / 8 - 1 in [-1, 1]."""
    return np.asarray(images, dtype=float) / 8.0 - 1.0


def decode(x_visible, force_scale: float = FORCE_SCALE, j2: float = J2,
           j4: float = J4) -> np.ndarray:
    """Visible states -> grey levels (float, clipped to 0..16): the s whose data force holds
    x in balance, ``s = (2 J2 x + 4 J4 x^3) / force_scale``, then ``p = 8 (s + 1)``."""
    x = np.asarray(x_visible, dtype=float)
    s = (2 * j2 * x + 4 * j4 * x ** 3) / force_scale
    return np.clip(8.0 * (s + 1.0), 0.0, 16.0)


def coupling_mask(hidden: int, visible_couplings: bool = True) -> np.ndarray:
    """1 where J may be nonzero: everything but the diagonal (and the visible-visible block
    unless `visible_couplings`)."""
    n = PIXELS + hidden
    mask = np.ones((n, n))
    if not visible_couplings:
        mask[:PIXELS, :PIXELS] = 0.0
    np.fill_diagonal(mask, 0.0)
    return mask


def force_ramp(step: int, ramp_steps: int = RAMP_STEPS) -> float:
    """The data force's factor during noising step `step` (0-based): ``1 - step / ramp``
    until it reaches zero, at 0.75 t_f."""
    return max(0.0, 1.0 - step / ramp_steps)


# --- the noising protocol ------------------------------------------------------------------

def _self_force(x, j2=J2, j4=J4):
    """The uncoupled part of grad V: 2 J2 x + 4 J4 x^3 (in x's dtype)."""
    dtype = x.dtype.type
    return x * (dtype(2 * j2) + dtype(4 * j4) * x * x)


def relax(force, steps: int, rng: np.random.Generator, dtype=np.float64, h: float = STEP,
          kT: float = KT, x=None) -> np.ndarray:
    """`steps` Euler-Maruyama steps of the uncoupled units under a constant `force`
    (n, N), from `x` (zeros by default)."""
    force = np.asarray(force, dtype=dtype)
    x = np.zeros_like(force) if x is None else np.array(x, dtype=dtype)
    hh, sd = dtype(h), dtype(np.sqrt(2 * kT * h))
    for _ in range(steps):
        x = x - hh * (_self_force(x) - force) + sd * rng.standard_normal(x.shape, dtype=dtype)
    return x


def _noising(force, rng, steps, ramp_steps, dtype, h=STEP, kT=KT):
    """Relax under `force`, then yield (x_k, x_(k+1)) for the `steps` noising steps."""
    x = relax(force, steps, rng, dtype, h, kT)
    force = np.asarray(force, dtype=dtype)
    hh, sd = dtype(h), dtype(np.sqrt(2 * kT * h))
    for k in range(steps):
        ramp = dtype(force_ramp(k, ramp_steps))
        x_next = x - hh * (_self_force(x) - ramp * force) \
            + sd * rng.standard_normal(x.shape, dtype=dtype)
        yield x, x_next
        x = x_next


def noising_trajectories(force, rng: np.random.Generator, steps: int = STEPS,
                         ramp_steps: int = RAMP_STEPS, dtype=np.float64) -> np.ndarray:
    """Whole noising trajectories (steps + 1, n, N): the relaxed start, then every step.
    For small cases (tests); training keeps only sums (`noising_stats`)."""
    states = []
    for x, x_next in _noising(force, rng, steps, ramp_steps, dtype):
        if not states:
            states.append(x)
        states.append(x_next)
    return np.stack(states)


# --- the action ----------------------------------------------------------------------------

def _residual_free(x_prev, x_next, h):
    """The parameter-free part of the reversed step's residual:
    ``x_k - x_(k+1) + h (2 J2 x' + 4 J4 x'^3)``."""
    return (x_prev - x_next) + h * _self_force(x_next)


def action(couplings, bias, trajectories, labels, h: float = STEP, kT: float = KT) -> float:
    """Mean discrete Onsager-Machlup action per trajectory of the time-reversed
    `trajectories` (steps + 1, n, N) of digits `labels` (n,) under (J, b), directly:
    ``sum_k |x_k - x_(k+1) + h grad V(x_(k+1))|^2 / (4 kT h)``."""
    x_prev, x_next = trajectories[:-1], trajectories[1:]
    e = _residual_free(x_prev, x_next, h) + h * (x_next @ couplings + bias[labels])
    return float((e * e).sum() / (4 * kT * h) / trajectories.shape[1])


def action_gradient(couplings, bias, trajectories, labels, mask=None, h: float = STEP,
                    kT: float = KT) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of `action` with respect to J (symmetric: the derivative along E_ij + E_ji
    is split evenly between (i, j) and (j, i), masked) and b, directly from the
    trajectories: ``dS/dJ_ij = h (r_i x'_j + r_j x'_i) / 2``, ``dS/db_di = h sum r_i``
    over digit d's steps, with ``r = 2 e / (4 kT h)``."""
    x_prev, x_next = trajectories[:-1], trajectories[1:]
    e = _residual_free(x_prev, x_next, h) + h * (x_next @ couplings + bias[labels])
    r = 2 * e / (4 * kT * h) / trajectories.shape[1]
    g = h * np.einsum("kni,knj->ij", r, x_next)
    gJ = 0.5 * (g + g.T)
    if mask is not None:
        gJ = gJ * mask
    gb = np.zeros_like(bias)
    np.add.at(gb, labels, h * r.sum(axis=0))
    return gJ, gb


@dataclass
class NoisingStats:
    """The sums over noising steps (k) and trajectories (n) that the action depends on.

    With ``c = x_k - x_(k+1) + h (2 J2 x' + 4 J4 x'^3)`` and ``x' = x_(k+1)``:
    ``M = sum x' x'^T``, ``R = sum c x'^T`` (N x N), per digit ``m_d = sum x'``,
    ``r_d = sum c``, ``n_d`` (steps counted), and ``cc = sum |c|^2``; ``trajectories``.
    Sums from several epochs add (`__add__`).
    """

    M: np.ndarray
    R: np.ndarray
    m: np.ndarray
    r: np.ndarray
    n: np.ndarray
    cc: float
    trajectories: int
    h: float = STEP
    kT: float = KT

    def __add__(self, other: NoisingStats) -> NoisingStats:
        return NoisingStats(self.M + other.M, self.R + other.R, self.m + other.m,
                            self.r + other.r, self.n + other.n, self.cc + other.cc,
                            self.trajectories + other.trajectories, self.h, self.kT)

    @property
    def _scale(self) -> float:
        return 4 * self.kT * self.h * self.trajectories

    def action(self, couplings, bias) -> float:
        """Mean action per trajectory under (J, b): ``(cc + 2h <J, R> + 2h <b, r>
        + h^2 <J, J M> + 2 h^2 <b, J m> + h^2 sum_d n_d |b_d|^2) / (4 kT h n)``."""
        h, J, b = self.h, couplings, bias
        total = (self.cc + 2 * h * np.vdot(J, self.R) + 2 * h * np.vdot(b, self.r)
                 + h * h * np.vdot(J, J @ self.M) + 2 * h * h * np.vdot(b, self.m @ J)
                 + h * h * float((self.n[:, None] * b * b).sum()))
        return float(total / self._scale)

    def gradient(self, couplings, bias, mask=None) -> tuple[np.ndarray, np.ndarray]:
        """Gradient of `action` (the same convention as `action_gradient`)."""
        h, J, b = self.h, couplings, bias
        g = 2 * h * self.R + 2 * h * h * (J @ self.M) + 2 * h * h * (b.T @ self.m)
        gJ = 0.5 * (g + g.T)
        if mask is not None:
            gJ = gJ * mask
        gb = 2 * h * self.r + 2 * h * h * (self.m @ J) + 2 * h * h * self.n[:, None] * b
        return gJ / self._scale, gb / self._scale


def noising_stats(force, labels, rng: np.random.Generator, steps: int = STEPS,
                  ramp_steps: int = RAMP_STEPS, dtype=np.float32, block: int = 8,
                  progress: Callable[[int, int], None] | None = None) -> NoisingStats:
    """Run the noising protocol for every row of `force` (n, N) with digits `labels` (n,),
    vectorised over trajectories, and return the sums of the action (`NoisingStats`).
    The states are `dtype` (float32 while training); the sums are float64, accumulated
    `block` steps at a time (one matrix product per block)."""
    force = np.asarray(force)
    labels = np.asarray(labels)
    n, N = force.shape
    one_hot = np.eye(CLASSES, dtype=dtype)[labels]
    M, R = np.zeros((N, N)), np.zeros((N, N))
    m, r = np.zeros((CLASSES, N)), np.zeros((CLASSES, N))
    cc = 0.0
    xs = np.empty((block, n, N), dtype=dtype)
    cs = np.empty((block, n, N), dtype=dtype)
    filled = 0

    def flush(count):
        nonlocal cc
        X = xs[:count].reshape(-1, N)
        C = cs[:count].reshape(-1, N)
        M[...] += X.T @ X
        R[...] += C.T @ X
        cc += float(np.einsum("ij,ij->", C, C, dtype=np.float64))
        m[...] += one_hot.T @ xs[:count].sum(axis=0)
        r[...] += one_hot.T @ cs[:count].sum(axis=0)

    for k, (x, x_next) in enumerate(_noising(force, rng, steps, ramp_steps, dtype)):
        xs[filled] = x_next
        cs[filled] = _residual_free(x, x_next, dtype(STEP))
        filled += 1
        if filled == block:
            flush(filled)
            filled = 0
        if progress is not None and (k + 1) % 64 == 0:
            progress(k + 1, steps)
    if filled:
        flush(filled)
    if progress is not None:
        progress(steps, steps)
    counts = np.bincount(labels, minlength=CLASSES).astype(float) * steps
    return NoisingStats(M, R, m, r, counts, cc, n)


def solve(stats: NoisingStats, mask, ridge: float, bias_ridge: float, couplings=None,
          bias=None, tolerance: float = 1e-10, max_iterations: int = 5000):
    """Minimise ``stats.action(J, b) + ridge/2 |J|_F^2 + bias_ridge/2 |b|^2`` over masked
    symmetric J and b by conjugate gradients (from (J, b), zeros by default); returns
    ``(J, b, iterations)``. The objective is exactly quadratic, so this is the regularised
    least-squares solution, to `tolerance` in the squared gradient norm (relative)."""
    N = mask.shape[0]
    J = np.zeros((N, N)) if couplings is None else np.array(couplings, dtype=float)
    b = np.zeros((CLASSES, N)) if bias is None else np.array(bias, dtype=float)

    def gradient(J, b):
        gJ, gb = stats.gradient(J, b, mask)
        return gJ + ridge * J * mask, gb + bias_ridge * b

    zero_J, zero_b = gradient(np.zeros_like(J), np.zeros_like(b))

    def hessian(J, b):
        gJ, gb = gradient(J, b)
        return gJ - zero_J, gb - zero_b

    gJ, gb = gradient(J, b)
    rJ, rb = -gJ, -gb
    pJ, pb = rJ.copy(), rb.copy()
    rr = float(np.vdot(rJ, rJ) + np.vdot(rb, rb))
    first = max(float(np.vdot(zero_J, zero_J) + np.vdot(zero_b, zero_b)), 1e-300)
    iterations = 0
    while rr > tolerance * first and iterations < max_iterations:
        HJ, Hb = hessian(pJ, pb)
        alpha = rr / float(np.vdot(pJ, HJ) + np.vdot(pb, Hb))
        J += alpha * pJ
        b += alpha * pb
        rJ -= alpha * HJ
        rb -= alpha * Hb
        new = float(np.vdot(rJ, rJ) + np.vdot(rb, rb))
        pJ = rJ + (new / rr) * pJ
        pb = rb + (new / rr) * pb
        rr = new
        iterations += 1
    J = 0.5 * (J + J.T) * mask
    return J, b, iterations


# --- training ------------------------------------------------------------------------------

def _training_images(config: TrainConfig, data=None):
    if data is None:
        from tritherm.apps.digits.data import load_split
        data = load_split()
    images, labels = np.asarray(data[0]), np.asarray(data[1])
    digits = range(CLASSES) if config.digits is None else sorted(set(config.digits))
    keep = []
    for d in digits:
        idx = np.flatnonzero(labels == d)
        keep.extend(idx[:config.images_per_digit] if config.images_per_digit else idx)
    keep = np.sort(np.array(keep, dtype=np.int64))
    return images[keep], labels[keep]


def train(seed: int, config: TrainConfig = TrainConfig(),
          progress: Callable[[EpochReport], None] | None = None,
          step_progress: Callable[[int, int], None] | None = None,
          data=None) -> GenerativeModel:
    """Train a model on the training split, deterministically from `seed`.

    Parameters
    ----------
    seed : int
        Seeds the hidden units' projection and every noising trajectory.
    config : TrainConfig
    progress : callable, optional
        Called with an `EpochReport` after each epoch (print it: ``print(report)``).
    step_progress : callable, optional
        ``(done, total)`` of the noising steps within an epoch (a progress bar).
    data : tuple, optional
        ``(x_train, y_train, ...)``; `tritherm.apps.digits.data.load_split` by default.
    """
    seed = check_seed(seed)
    images, labels = _training_images(config, data)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    projection = rng.standard_normal((config.hidden, PIXELS)) / np.sqrt(PIXELS)
    u = encode(images) @ projection.T
    model = GenerativeModel(
        couplings=np.zeros((PIXELS + config.hidden,) * 2),
        bias=np.zeros((CLASSES, PIXELS + config.hidden)), projection=projection,
        projection_mean=u.mean(axis=0), projection_std=u.std(axis=0) + 1e-12,
        config=config, seed=seed)
    mask = coupling_mask(config.hidden, config.visible_couplings)
    force = model.data_force(images)
    total, actions = None, []
    with one_blas_thread():
        for epoch in range(1, config.epochs + 1):
            stats = noising_stats(force, labels, rng, progress=step_progress)
            before = stats.action(model.couplings, model.bias)
            uncoupled = stats.action(np.zeros_like(model.couplings), np.zeros_like(model.bias))
            total = stats if total is None else total + stats
            J, b, _ = solve(total, mask, config.ridge, config.bias_ridge,
                            model.couplings, model.bias)
            model.couplings, model.bias = J, b
            after = stats.action(J, b)
            actions.append(after)
            if progress is not None:
                progress(EpochReport(epoch, config.epochs, before, after, uncoupled,
                                     time.perf_counter() - start))
    model.meta = {"command": "", "train_seconds": time.perf_counter() - start,
                  "actions": actions, "images": len(labels)}
    return model


def train_and_save(seed: int = 1, hidden: int = DEFAULT_HIDDEN, epochs: int = DEFAULT_EPOCHS,
                   out=MODEL_PATH, progress: Callable[[EpochReport], None] | None = None,
                   command: str | None = None, step_progress=None, **options) -> GenerativeModel:
    """Train on the whole training split and write the model to `out` (checked first).

    `command` is recorded in the file (``TRAIN_COMMAND`` for the defaults, else the
    equivalent command line); `options` are further `TrainConfig` fields.
    """
    out = Path(out)
    if out.suffix != ".npz":
        raise UserError(f"the model file must end in .npz, got {out}")
    if not out.parent.is_dir():
        raise UserError(f"cannot write {out}: {out.parent} is not a directory")
    if not os.access(out.parent, os.W_OK):
        raise UserError(f"cannot write {out}: {out.parent} is not writable")
    config = TrainConfig(hidden=hidden, epochs=epochs, **options)
    model = train(seed, config, progress=progress, step_progress=step_progress)
    if command is None:
        command = "tritherm apps generate train" + (f" --seed {seed}")
        if hidden != DEFAULT_HIDDEN:
            command += f" --hidden {hidden}"
        if epochs != DEFAULT_EPOCHS:
            command += f" --epochs {epochs}"
        for key, value in options.items():
            command += f" --{key.replace('_', '-')} {value}"
    model.meta["command"] = command
    model.save(out)
    return model


# --- generation ----------------------------------------------------------------------------

@dataclass
class Generated:
    """Generated images of one digit: ``images`` (count, 64) grey levels as floats in
    0..16, the states ``x_start`` (at the start of the trained dynamics) and ``x_end``
    (count, N), ``heat`` (count,) emitted, in kT, the time taken, and for the fixed-point
    runs the coupler's sticky saturation ``flags`` (count, N) of 0/1."""

    digit: int
    images: np.ndarray
    x_start: np.ndarray
    x_end: np.ndarray
    heat: np.ndarray
    seconds: float
    flags: np.ndarray | None = None


def _chain_rng(seed: int, digit: int) -> np.random.Generator:
    return np.random.default_rng([check_seed(seed), check_digit(digit), 0x6E6E])


def generate_states(model: GenerativeModel, digit: int, count: int, seed: int = 0,
                    steps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Float generation, vectorised over `count` chains: relax from 0 uncoupled for t_f
    (the starting noise), then run digit `digit`'s trained dynamics for t_f. Returns the
    states at the start and at the end of the trained run, (count, N) each."""
    digit, count = check_digit(digit), check_count(count)
    steps = model.steps if steps is None else steps
    rng = _chain_rng(seed, digit)
    N, h = model.cells, model.h
    x = relax(np.zeros((count, N)), steps, rng, np.float64, h, model.kT)
    x_start = x.copy()
    sd = np.sqrt(2 * model.kT * h)
    J, b = model.couplings, model.bias[digit]
    for _ in range(steps):
        x = x - h * (_self_force(x, model.J2, model.J4) + x @ J + b) \
            + sd * rng.standard_normal(x.shape)
    return x_start, x


def heat(model: GenerativeModel, digit: int, x_start, x_end) -> np.ndarray:
    """Heat emitted by each trajectory, in kT: ``Q = (V(x_0) - V(x_tf)) / kT`` (the
    potential does not change during the run, so no work is done)."""
    return (model.potential(x_start, digit) - model.potential(x_end, digit)) / model.kT


def generate(model: GenerativeModel, digit: int, count: int, seed: int = 0) -> Generated:
    """`count` images of `digit` by the float model (`generate_states`, `decode`)."""
    start = time.perf_counter()
    x0, x1 = generate_states(model, digit, count, seed)
    images = decode(x1[:, :PIXELS], model.force_scale, model.J2, model.J4)
    return Generated(int(digit), images, x0, x1, heat(model, digit, x0, x1),
                     time.perf_counter() - start)


def thermal_images(model: GenerativeModel, images, seed: int = 0) -> np.ndarray:
    """`images` as the model's readout sees data: each held for t_f under its data force
    from x = 0 (the start of a noising trajectory: thermal noise and all), then `decode`d.
    The reference a perfect generator would match (`quality.evaluate`'s thermal_test)."""
    rng = np.random.default_rng([check_seed(seed), 0x7E57])
    x = relax(model.data_force(images), model.steps, rng, np.float64, model.h, model.kT)
    return decode(x[:, :PIXELS], model.force_scale, model.J2, model.J4)
