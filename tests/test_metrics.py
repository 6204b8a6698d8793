import math

import numpy as np
import pytest
import torch
from torch import nn

from linbook import metrics
from linbook.data import TensorLoader


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    cm = metrics.confusion_matrix(
        torch.tensor([0, 0, 1, 2, 2, 2]), torch.tensor([0, 1, 1, 2, 0, 2]), 4
    )
    assert cm.dtype == torch.int64
    assert cm.tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]]
    assert cm.sum() == 6 and cm.trace() == 4  # all examples; the hits on the diagonal


def test_confusion_matrix_accepts_lists_and_arrays_and_infers_num_classes():
    cm = metrics.confusion_matrix([0, 1, 1], np.array([0, 0, 1]))
    assert cm.tolist() == [[1, 0], [1, 1]]
    assert metrics.confusion_matrix([], [], num_classes=3).tolist() == [[0] * 3] * 3


@pytest.mark.parametrize(
    "y_true, y_pred, num_classes, error, match",
    [
        ([0, 1], [0], None, ValueError, "y_true has 2 labels but y_pred has 1"),
        ([0, -1], [0, 1], None, ValueError, "y_true must be class indices >= 0"),
        ([0, 3], [0, 1], 3, ValueError, "num_classes must be > 3, the largest class index"),
        ([0, 1], [0, 1], 0, ValueError, "num_classes must be an int >= 1, got 0"),
        ([0, 1], [0, 1], "2", TypeError, "num_classes must be an int >= 1, got '2'"),
        ([0.0, 1.0], [0, 1], None, ValueError, "y_true must be a tensor of integers"),
        ([[0, 1]], [[0, 1]], None, ValueError, "y_true must be 1-D"),
    ],
)
def test_confusion_matrix_rejects_bad_input(y_true, y_pred, num_classes, error, match):
    with pytest.raises(error, match=match):
        metrics.confusion_matrix(y_true, y_pred, num_classes)


def test_per_class_accuracy_is_recall_and_nan_for_empty_classes():
    acc = metrics.per_class_accuracy(torch.tensor([[3, 1, 0], [0, 2, 0], [0, 0, 0]]))
    assert acc[:2].tolist() == [0.75, 1.0] and math.isnan(acc[2])
    with pytest.raises(
        ValueError, match=r"cm must be a square confusion matrix \(q, q\), got shape \(2, 3\)"
    ):
        metrics.per_class_accuracy(torch.zeros(2, 3))


def test_most_confused_sorts_off_diagonal_counts_and_names_them():
    cm = torch.tensor([[50, 2, 7], [4, 40, 0], [7, 1, 30]])
    assert metrics.most_confused(cm, k=3) == [(0, 2, 7), (2, 0, 7), (1, 0, 4)]  # ties: row-major
    named = metrics.most_confused(cm, k=2, labels=["a", "b", "c"])
    assert named == [("a", "c", 7), ("c", "a", 7)]
    assert metrics.most_confused(torch.eye(3, dtype=torch.long) * 5) == []  # no mistakes at all
    with pytest.raises(ValueError, match="k must be an int >= 1, got 0"):
        metrics.most_confused(cm, k=0)
    with pytest.raises(ValueError, match="labels has 2 entries .* but cm has 3"):
        metrics.most_confused(cm, labels=["a", "b"])


def test_predict_returns_labels_and_argmax_for_modules_and_functions():
    torch.manual_seed(0)
    X, y = torch.randn(10, 4), torch.randint(0, 3, (10,))
    net = nn.Linear(4, 3)
    y_true, y_pred = metrics.predict(net, TensorLoader((X, y), batch_size=4))
    assert torch.equal(y_true, y)
    assert torch.equal(y_pred, net(X).argmax(dim=1))
    assert not net.training  # evaluation mode, as evaluate_accuracy

    def scores(batch):
        return batch[:, :3]

    _, pred_fn = metrics.predict(scores, [(X, y)])
    assert torch.equal(pred_fn, X[:, :3].argmax(dim=1))


def test_predict_rejects_empty_iterators_and_wrong_score_shapes():
    with pytest.raises(ValueError, match=r"data_iter must be an iterable of \(X, y\) batches"):
        metrics.predict(nn.Linear(2, 2), [])
    with pytest.raises(ValueError, match=r"\(batch, classes\)"):
        metrics.predict(
            lambda X: X.sum(dim=1), [(torch.randn(3, 2), torch.zeros(3, dtype=torch.long))]
        )


def test_plot_confusion_matrix_draws_normalised_rows_with_labels():
    cm = torch.tensor([[3, 1], [0, 2]])
    ax = metrics.plot_confusion_matrix(cm, labels=["cat", "dog"])
    image = ax.get_images()[0].get_array()
    assert np.allclose(image, [[0.75, 0.25], [0.0, 1.0]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog"]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == ["", "0.25", "0.75", "1.00"]  # zero cells stay empty
    counts = metrics.plot_confusion_matrix(cm, normalize=False)
    assert sorted(t.get_text() for t in counts.texts) == ["0", "1", "2", "3"]
    with pytest.raises(ValueError, match="labels has 3 entries .* but cm has 2"):
        metrics.plot_confusion_matrix(cm, labels=["a", "b", "c"])


def test_predict_ch3_titles_show_true_and_predicted_labels():
    X = torch.zeros(5, 1, 28, 28)
    y = torch.tensor([0, 1, 2, 3, 4])

    def always_bag(batch):
        scores = torch.zeros(len(batch), 10)
        scores[:, 8] = 1.0
        return scores

    axes = metrics.predict_ch3(always_bag, [(X, y)], n=3)
    assert [ax.get_title() for ax in axes[:3]] == ["t-shirt\nbag", "trouser\nbag", "pullover\nbag"]
    with pytest.raises(ValueError, match="n must be an int <= 5, got 6"):
        metrics.predict_ch3(always_bag, [(X, y)], n=6)
    with pytest.raises(ValueError, match="n must be an int >= 1, got 0"):
        metrics.predict_ch3(always_bag, [(X, y)], n=0)
