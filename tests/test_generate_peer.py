"""The peer of the generative model: scikit-learn's BernoulliRBM sampled by Gibbs sampling
(`tritherm.apps.generate.peer`), judged by the same figures."""

from __future__ import annotations

import numpy as np
import pytest

from tritherm.apps.generate import peer as gp
from tritherm.apps.generate import quality as gq
from tritherm.errors import UserError


@pytest.fixture(scope="module")
def rbm(split):
    return gp.train_peer(0, hidden=64, epochs=20, data=split)


def test_the_rbm_peer_makes_digits_deterministically(rbm):
    a = gp.sample_peer(rbm, 1, 12, seed=3, gibbs_steps=100)
    b = gp.sample_peer(rbm, 1, 12, seed=3, gibbs_steps=100)
    assert np.array_equal(a.images, b.images)
    assert a.images.shape == (12, 64) and 0 <= a.images.min() and a.images.max() <= 16
    runs = {d: gp.sample_peer(rbm, d, 12, seed=3, gibbs_steps=100) for d in (0, 1)}
    report = gq.evaluate({d: g.images for d, g in runs.items()}, None,
                         {d: g.seconds for d, g in runs.items()})
    assert report.overall.recognised >= 0.6, gq.format_table(report)
    assert report.overall.seconds > 0 and np.isnan(report.overall.heat)


@pytest.mark.parametrize("call, words", [
    (lambda p: gp.sample_peer(p, 12, 1), "digit"),
    (lambda p: gp.sample_peer(p, 1, 0), "count"),
    (lambda p: gp.sample_peer(p, 1, 1, gibbs_steps=0), "gibbs_steps"),
    (lambda p: gp.train_peer(0, hidden=0), "hidden"),
])
def test_bad_arguments(rbm, call, words):
    with pytest.raises(UserError, match=words):
        call(rbm)
