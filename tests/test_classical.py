"""Reference implementations of chapter 02 against scikit-learn / PyTorch (float64)."""

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import KFold
from sklearn.model_selection import cross_val_predict as sklearn_cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch.autograd import gradcheck

from utils import classical as C

generator = torch.Generator().manual_seed(0)


def randn(*shape):
    return torch.randn(*shape, generator=generator, dtype=torch.float64)


def test_standardize_matches_standard_scaler_fitted_on_train():
    train, test = randn(50, 4) * 3 + 1, randn(20, 4)
    train[:, 2] = 5.0  # a constant column: only centred
    scaler = StandardScaler().fit(train.numpy())
    ours_train, ours_test = C.standardize(train, test)
    torch.testing.assert_close(ours_train, torch.from_numpy(scaler.transform(train.numpy())), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours_test, torch.from_numpy(scaler.transform(test.numpy())), rtol=1e-12, atol=1e-12)
    x = randn(6, 2).requires_grad_(True)
    assert gradcheck(lambda t: C.standardize(t)[0], (x,))


def test_normal_equation_matches_sklearn():
    X, y = randn(40, 3), randn(40)
    w, b = C.normal_equation(X, y)
    model = LinearRegression().fit(X.numpy(), y.numpy())
    torch.testing.assert_close(w, torch.from_numpy(model.coef_), rtol=1e-10, atol=1e-10)
    assert b.item() == pytest.approx(model.intercept_, abs=1e-10)


@pytest.mark.parametrize("shape, lam", [((40, 3), 0.0), ((40, 3), 2.5), ((12, 30), 0.5)])
def test_ridge_regression_matches_sklearn_ridge(shape, lam):
    from sklearn.linear_model import Ridge

    X, y = randn(*shape) + 5.0, randn(shape[0]) * 3 + 100.0  # offsets: the intercept must not be shrunk
    w, b = C.ridge_regression(X, y, lam)
    model = Ridge(alpha=lam).fit(X.numpy(), y.numpy())
    torch.testing.assert_close(w, torch.from_numpy(model.coef_), rtol=1e-8, atol=1e-8)
    assert b.item() == pytest.approx(model.intercept_, abs=1e-8)
    with pytest.raises(ValueError, match="at least 0"):
        C.ridge_regression(X, y, -1.0)


def test_bce_matches_torch_and_is_stable():
    logits, targets = randn(30) * 5, (randn(30) > 0).double()
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)
    torch.testing.assert_close(C.binary_cross_entropy_with_logits(logits, targets), expected, rtol=1e-12, atol=1e-12)
    extreme = torch.tensor([1000.0, -1000.0, 800.0], dtype=torch.float64)
    loss = C.binary_cross_entropy_with_logits(extreme, torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64))
    assert torch.isfinite(loss) and loss.item() == pytest.approx(2000 / 3)
    z = randn(5).requires_grad_(True)
    assert gradcheck(lambda t: C.binary_cross_entropy_with_logits(t, targets[:5]), (z,))


def test_kmeans_matches_sklearn_inertia_and_assignment():
    centers_true = torch.tensor([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]], dtype=torch.float64)
    X = torch.cat([c + randn(40, 2) for c in centers_true])
    centers, labels, inertia, _ = C.kmeans(X, 3, generator=torch.Generator().manual_seed(1))
    reference = KMeans(3, n_init=10, random_state=0).fit(X.numpy())
    assert inertia == pytest.approx(reference.inertia_, rel=1e-9)
    torch.testing.assert_close(C.kmeans_assign(X, centers), labels)
    np.testing.assert_array_equal(C.kmeans_assign(X, torch.from_numpy(reference.cluster_centers_)).numpy(),
                                  reference.predict(X.numpy()))


def test_kmeans_plus_plus_spreads_the_centers():
    X = torch.cat([torch.full((20, 2), value, dtype=torch.float64) + 1e-3 * randn(20, 2) for value in (0.0, 1e3, 2e3)])
    for seed in range(20):
        centers = C.kmeans_plus_plus(X, 3, torch.Generator().manual_seed(seed))
        assert sorted(round(v / 1e3) for v in centers[:, 0].tolist()) == [0, 1, 2]
    with pytest.raises(ValueError, match="k must be between 1"):
        C.kmeans_plus_plus(X, 0)


def test_pca_matches_sklearn_up_to_sign():
    X = randn(60, 5) @ randn(5, 5)
    projection, components, ratio = C.pca(X, 3)
    reference = PCA(3).fit(X.numpy())
    signs = torch.sign((components * torch.from_numpy(reference.components_)).sum(dim=1))  # (3,)
    torch.testing.assert_close(components * signs[:, None], torch.from_numpy(reference.components_), rtol=1e-8, atol=1e-8)
    torch.testing.assert_close(projection * signs, torch.from_numpy(reference.transform(X.numpy())), rtol=1e-8, atol=1e-8)
    torch.testing.assert_close(ratio, torch.from_numpy(reference.explained_variance_ratio_), rtol=1e-10, atol=1e-10)
    x = randn(8, 3).requires_grad_(True)
    assert gradcheck(lambda t: C.pca(t, 1)[0].abs().sum(), (x,))


@pytest.mark.parametrize("n, k", [(10, 3), (12, 4), (7, 7), (100, 5)])
def test_kfold_matches_sklearn(n, k):
    ours = C.kfold_indices(n, k)
    reference = list(KFold(k).split(np.zeros(n)))
    assert len(ours) == len(reference)
    for (train, val), (ref_train, ref_val) in zip(ours, reference):
        np.testing.assert_array_equal(train.numpy(), ref_train)
        np.testing.assert_array_equal(val.numpy(), ref_val)
    with pytest.raises(ValueError, match="between 2 and n"):
        C.kfold_indices(3, 5)


@pytest.mark.parametrize("n, d, k, lam", [(40, 3, 5, 0.5), (9, 12, 3, 2.0), (7, 2, 7, 0.1)])
def test_cross_val_predict_matches_sklearn_and_leaks_nothing(n, d, k, lam):
    generator = torch.Generator().manual_seed(n)
    X = torch.randn(n, d, dtype=torch.float64, generator=generator) * torch.arange(1, d + 1) + 5
    y = X[:, 0] * 3 - X[:, 1] + torch.randn(n, dtype=torch.float64, generator=generator)
    ours = C.cross_val_predict(X, y, lam, k)
    pipeline = make_pipeline(StandardScaler(), Ridge(alpha=lam))
    expected = sklearn_cross_val_predict(pipeline, X.numpy(), y.numpy(), cv=KFold(k))
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-9, atol=1e-9)
    assert ours.dtype == torch.float64
    first_val = C.kfold_indices(n, k)[0][1]
    changed = X.clone()
    changed[first_val[1:]] *= 10  # the other rows of row 0's fold
    changed_y = y.clone()
    changed_y[first_val] += 100  # the targets of row 0's fold
    assert torch.allclose(C.cross_val_predict(changed, changed_y, lam, k)[0], ours[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("metric", C.KNN_METRICS)
@pytest.mark.parametrize("k", [1, 5, 12])
def test_knn_predict_matches_sklearn(metric, k):
    from sklearn.neighbors import KNeighborsClassifier

    X_train, X_query = randn(80, 4), randn(30, 4)
    y_train = torch.randint(0, 4, (80,), generator=generator)
    ours = C.knn_predict(X_train, y_train, X_query, k, metric)
    model = KNeighborsClassifier(n_neighbors=k, metric=metric, algorithm="brute").fit(X_train.numpy(), y_train.numpy())
    assert ours.dtype == torch.int64
    assert ours.tolist() == model.predict(X_query.numpy()).tolist()


def test_knn_predict_breaks_ties_towards_the_smallest_label_and_rejects_bad_input():
    X_train = torch.tensor([[0.0], [1.0], [-1.0], [5.0]], dtype=torch.float64)
    y_train = torch.tensor([3, 1, 3, 1])
    query = torch.tensor([[0.1]], dtype=torch.float64)
    assert C.knn_predict(X_train, y_train, query, k=2).tolist() == [1]  # neighbours 0.0 (3) and 1.0 (1): a tie
    assert C.knn_predict(X_train, y_train, query, k=3).tolist() == [3]
    with pytest.raises(ValueError, match="unknown metric"):
        C.knn_predict(X_train, y_train, query, k=1, metric="chebyshev")
    with pytest.raises(ValueError, match="k must be"):
        C.knn_predict(X_train, y_train, query, k=5)
