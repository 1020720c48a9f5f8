# Mutant: averages the marginal contributions over all coalitions with equal weight (the Banzhaf value), not the Shapley weights.
import itertools


def shapley_values(f, X, background):
    n, d = X.shape
    masks = [torch.tensor(m) for m in itertools.product([False, True], repeat=d)]
    phi = torch.zeros(n, d, dtype=torch.float64)
    for row in range(n):
        values = {tuple(m.tolist()): f(torch.where(m, X[row], background)).double().mean() for m in masks}
        for m in masks:
            for i in range(d):
                if not m[i]:
                    with_i = m.clone()
                    with_i[i] = True
                    phi[row, i] += (values[tuple(with_i.tolist())] - values[tuple(m.tolist())]) / 2 ** (d - 1)
    return phi
