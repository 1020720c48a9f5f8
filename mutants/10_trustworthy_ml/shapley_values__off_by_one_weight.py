# Mutant: weight |S|! (d - |S|)! / d! (one factorial off): the weights no longer sum to 1 over the coalitions.
import itertools


def shapley_values(f, X, background):
    n, d = X.shape
    masks = [torch.tensor(m) for m in itertools.product([False, True], repeat=d)]
    phi = torch.zeros(n, d, dtype=torch.float64)
    for row in range(n):
        values = {tuple(m.tolist()): f(torch.where(m, X[row], background)).double().mean() for m in masks}
        for m in masks:
            size = int(m.sum())
            for i in range(d):
                if not m[i]:
                    with_i = m.clone()
                    with_i[i] = True
                    weight = math.factorial(size) * math.factorial(d - size) / math.factorial(d)
                    phi[row, i] += weight * (values[tuple(with_i.tolist())] - values[tuple(m.tolist())])
    return phi
