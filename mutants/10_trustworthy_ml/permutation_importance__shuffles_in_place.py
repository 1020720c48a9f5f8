# Mutant: shuffles the columns of X itself instead of a copy: later features see earlier ones already shuffled, and X is changed.
def permutation_importance(predict, X, y, score, permutations):
    baseline = float(score(y, predict(X)))
    d, repeats = permutations.shape[0], permutations.shape[1]
    drops = torch.empty(d, repeats, dtype=torch.float64)
    for j in range(d):
        for r in range(repeats):
            X[:, j] = X[permutations[j, r], j]
            drops[j, r] = baseline - float(score(y, predict(X)))
    return drops
