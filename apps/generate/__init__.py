"""Generative thermodynamic computing on the digits (Whitelam, PRL 136, 037101, 2026).

A network of 64 visible and H hidden overdamped Langevin units with quadratic and quartic
self terms, shared symmetric couplings and one bias vector per digit, trained in float to
reverse a noising process (the discrete Onsager-Machlup action, a regularised least-squares
problem: `model`); each digit's dynamics is one overdamped program of the coupler, run
bit-exact on the golden coupler or by a vectorised emulation of its arithmetic
(`integer`); the figures (recognised fraction, nearest-neighbour distances, diversity,
heat: `quality`) and the peer, scikit-learn's BernoulliRBM sampled by Gibbs sampling
(`peer`); `sampling` runs any backend for the command line.

The shipped model (`model.MODEL_PATH`) was written by ``tritherm apps generate train --seed
1`` (`train_and_save`).
"""

from .integer import (fixed_run, generate_fixed, generate_golden, program_figures,
                      switch_writes, to_program, uncoupled_program)
from .model import (MODEL_PATH, TRAIN_COMMAND, EpochReport, GenerativeModel, Generated,
                    TrainConfig, decode, encode, generate, load_model, thermal_images, train,
                    train_and_save)
from .peer import RBMPeer, sample_peer, train_peer
from .quality import evaluate, format_table, write_grid_png
from .sampling import BACKENDS, evaluate_runs, sample

__all__ = [
    "fixed_run", "generate_fixed", "generate_golden", "program_figures", "switch_writes",
    "to_program", "uncoupled_program",
    "MODEL_PATH", "TRAIN_COMMAND", "EpochReport", "GenerativeModel", "Generated",
    "TrainConfig", "decode", "encode", "generate", "load_model", "thermal_images", "train",
    "train_and_save",
    "RBMPeer", "sample_peer", "train_peer",
    "evaluate", "format_table", "write_grid_png",
    "BACKENDS", "evaluate_runs", "sample",
]
