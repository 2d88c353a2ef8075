"""The digits data: scikit-learn's 8 x 8 handwritten digits, one fixed train/test split.

scikit-learn ships the data in its wheel (``sklearn.datasets.load_digits``, 1,797 images of
8 x 8 pixels, grey levels 0..16, from the UCI "Optical Recognition of Handwritten Digits"
set), so nothing is downloaded.

The split is ``train_test_split(images, labels, test_size=360, stratify=labels,
random_state=SPLIT_SEED)`` with ``SPLIT_SEED = 0``: 1,437 training and 360 test images,
each digit in the same proportion in both. Every model of this application is trained on
the first part and scored on the second.
"""

from __future__ import annotations

import numpy as np

from tritherm.errors import UserError

__all__ = ["PIXELS", "GREY_LEVELS", "CLASSES", "TEST_SIZE", "SPLIT_SEED",
           "load_split", "check_images", "check_labels"]

#: Pixels of one image (8 x 8, row by row).
PIXELS = 64
#: Grey levels run from 0 (background) to GREY_LEVELS - 1 = 16 (ink).
GREY_LEVELS = 17
#: The digits 0..9.
CLASSES = 10
#: Images held out for testing, and the seed of the stratified split.
TEST_SIZE = 360
SPLIT_SEED = 0


def load_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The fixed stratified split of scikit-learn's digits.

    Returns
    -------
    x_train, y_train, x_test, y_test : numpy.ndarray
        Images as int64 (n, 64) grey levels 0..16 and labels as int64 (n,) digits 0..9;
        n is 1,437 for training and 360 for testing.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = digits.data.astype(np.int64)
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=TEST_SIZE, stratify=labels, random_state=SPLIT_SEED)
    return x_train, y_train, x_test, y_test


def _where(array: np.ndarray, bad: np.ndarray) -> str:
    index = ", ".join(str(int(i)) for i in np.argwhere(bad)[0])
    return f"[{index}]"


def _integers(array, name: str) -> np.ndarray:
    """`array` as int64 if it holds finite integral numbers, else a UserError."""
    array = np.asarray(array)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind != "f":
        raise UserError(f"{name} must be numbers, got an array of dtype {array.dtype}")
    bad = ~np.isfinite(array)
    if bad.any():
        where = _where(array, bad)
        raise UserError(f"{name}{where} = {array[tuple(np.argwhere(bad)[0])]} "
                        f"is not a finite number")
    bad = array != np.floor(array)
    if bad.any():
        where = _where(array, bad)
        raise UserError(f"{name}{where} = {array[tuple(np.argwhere(bad)[0])]} "
                        f"is not a whole number")
    return array.astype(np.int64)


def check_images(images, name: str = "images") -> np.ndarray:
    """Return `images` as int64 (n, 64), or raise UserError naming what is wrong.

    Accepted: an (n, 64) array, n >= 1, of integers (or floats with integral values) in
    the grey levels 0..16, as `load_split` returns them.
    """
    array = np.asarray(images)
    if array.ndim != 2 or array.shape[1] != PIXELS:
        raise UserError(f"{name} must have shape (n, {PIXELS}), one 8 x 8 image a row, "
                        f"got shape {array.shape}")
    if array.shape[0] == 0:
        raise UserError(f"{name} is empty: give at least one image")
    return _within(_integers(array, name), name, GREY_LEVELS - 1, "a grey level")


def check_labels(labels, count: int, name: str = "labels") -> np.ndarray:
    """Return `labels` as int64 (count,), or raise UserError naming what is wrong.

    Accepted: a 1-D array of `count` integers (or integral floats), each a digit 0..9.
    """
    array = np.asarray(labels)
    if array.ndim != 1:
        raise UserError(f"{name} must be a 1-D array of digits, got shape {array.shape}")
    if array.shape[0] != count:
        raise UserError(f"{name} has {array.shape[0]} entries but there are {count} images")
    return _within(_integers(array, name), name, CLASSES - 1, "a digit")


def _within(array: np.ndarray, name: str, top: int, what: str) -> np.ndarray:
    """`array` if every value is in 0..top; else UserError naming the first that is not."""
    bad = (array < 0) | (array > top)
    if bad.any():
        raise UserError(f"{name}{_where(array, bad)} = {array[bad][0]} is not {what} "
                        f"in 0..{top}")
    return array
