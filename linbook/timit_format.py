"""The format of the TIMIT competition's files (Kaggle ``ml2021spring-hw2``).

Shared by the loader (:mod:`linbook.timit`, which re-exports every name) and the stand-in
generator (:mod:`linbook.timit_standin`), so that neither imports the other.
"""

from __future__ import annotations

__all__ = [
    "COMPETITION",
    "FILES",
    "N_CLASSES",
    "N_CONTEXT",
    "N_FEATURES",
    "FRAME_DIM",
    "REAL_SHAPES",
    "STANDIN_MARKER",
]

#: The Kaggle competition.
COMPETITION = "ml2021spring-hw2"
#: Phone classes.
N_CLASSES = 39
#: The number of frames per row (the frame and 5 neighbours on each side).
N_CONTEXT = 11
#: The number of features per frame (13 MFCC, 13 Δ and 13 ΔΔ).
FRAME_DIM = 39
#: Features per row (429).
N_FEATURES = N_CONTEXT * FRAME_DIM
#: The competition's files.
FILES = ("train_11.npy", "train_label_11.npy", "test_11.npy")
#: The shapes of the real files.
REAL_SHAPES: dict[str, tuple[int, ...]] = {
    "train_11.npy": (1_229_932, N_FEATURES),
    "train_label_11.npy": (1_229_932,),
    "test_11.npy": (451_552, N_FEATURES),
}
#: The file that marks a folder as the stand-in of :mod:`linbook.timit_standin`.
STANDIN_MARKER = "STANDIN.json"
