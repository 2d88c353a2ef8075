"""The peer: a Bernoulli restricted Boltzmann machine (scikit-learn's `BernoulliRBM`),
trained on the same split and sampled by block Gibbs sampling, judged by the same figures.

Conditioning mirrors the thermodynamic model's per-digit bias: the RBM's visible layer is
the 64 pixels (``p / 16`` in [0, 1], as BernoulliRBM takes grey values) and 10 one-hot label
units; sampling clamps the label units to the requested digit, which adds that digit's
label weights to every hidden unit's bias (a per-digit hidden bias, the couplings shared).
A chain starts from random pixels (each on with the training split's mean intensity), runs
`gibbs_steps` sweeps (hidden given visible, visible given hidden, labels clamped) and
reads out the last sweep's pixel probabilities times 16 (the usual mean-field picture,
which the model's `decode` parallels). Vectorised over chains, deterministic from the seed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from tritherm.errors import UserError

from .model import CLASSES, PIXELS, Generated, check_count, check_digit, check_seed

__all__ = ["RBMPeer", "train_peer", "sample_peer", "DEFAULT_GIBBS_STEPS"]

#: Sweeps of a chain (more do not change the figures measured: see the report).
DEFAULT_GIBBS_STEPS = 1000


@dataclass
class RBMPeer:
    """A trained RBM: ``weights`` (hidden, 74), ``visible_bias`` (74), ``hidden_bias``
    (hidden); the first 64 visible units are pixels, the last 10 the label."""

    weights: np.ndarray
    visible_bias: np.ndarray
    hidden_bias: np.ndarray
    pixel_mean: float
    meta: dict = field(default_factory=dict)

    @property
    def hidden(self) -> int:
        return self.weights.shape[0]


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def train_peer(seed: int = 0, hidden: int = 128, epochs: int = 100,
               learning_rate: float = 0.05, batch_size: int = 10, data=None) -> RBMPeer:
    """Fit `BernoulliRBM` (persistent contrastive divergence) on the training split's
    pixels and one-hot labels."""
    from sklearn.neural_network import BernoulliRBM
    seed = check_seed(seed)
    if not isinstance(hidden, int) or not 1 <= hidden <= 4096:
        raise UserError(f"hidden must be an integer in 1..4096, got {hidden!r}")
    if not isinstance(epochs, int) or not 1 <= epochs <= 10_000:
        raise UserError(f"epochs must be an integer in 1..10000, got {epochs!r}")
    if data is None:
        from tritherm.apps.digits.data import load_split
        data = load_split()
    images, labels = np.asarray(data[0]), np.asarray(data[1])
    visible = np.concatenate([images / 16.0, np.eye(CLASSES)[labels]], axis=1)
    start = time.perf_counter()
    rbm = BernoulliRBM(n_components=hidden, learning_rate=learning_rate,
                       batch_size=batch_size, n_iter=epochs, random_state=seed)
    rbm.fit(visible)
    return RBMPeer(rbm.components_.copy(), rbm.intercept_visible_.copy(),
                   rbm.intercept_hidden_.copy(), float((images / 16.0).mean()),
                   {"train_seconds": time.perf_counter() - start, "seed": seed,
                    "epochs": epochs, "learning_rate": learning_rate})


def sample_peer(peer: RBMPeer, digit: int, count: int, seed: int = 0,
                gibbs_steps: int = DEFAULT_GIBBS_STEPS) -> Generated:
    """`count` images of `digit` by block Gibbs sampling with the label clamped.
    ``heat`` is nan (a Gibbs sampler has no trajectory energy to dissipate)."""
    digit, count = check_digit(digit), check_count(count)
    if not isinstance(gibbs_steps, int) or not 1 <= gibbs_steps <= 1_000_000:
        raise UserError(f"gibbs_steps must be an integer in 1..1000000, got {gibbs_steps!r}")
    rng = np.random.default_rng([check_seed(seed), digit, 0xB0])
    start = time.perf_counter()
    W, bv, bh = peer.weights, peer.visible_bias, peer.hidden_bias
    Wp, bvp = W[:, :PIXELS], bv[:PIXELS]
    label_drive = bh + W[:, PIXELS + digit]             # the clamped label's hidden bias
    v = (rng.random((count, PIXELS)) < peer.pixel_mean).astype(float)
    p_v = v
    for _ in range(gibbs_steps):
        h = (rng.random((count, peer.hidden)) < _sigmoid(v @ Wp.T + label_drive)).astype(float)
        p_v = _sigmoid(h @ Wp + bvp)
        v = (rng.random(p_v.shape) < p_v).astype(float)
    images = 16.0 * p_v
    nan = np.full(count, np.nan)
    return Generated(digit, images, np.zeros((count, 0)), np.zeros((count, 0)), nan,
                     time.perf_counter() - start)
