# Mutant: returns the score after shuffling instead of the drop from the baseline.
def permutation_importance(predict, X, y, score, permutations):
    d, repeats = permutations.shape[0], permutations.shape[1]
    drops = torch.empty(d, repeats, dtype=torch.float64)
    for j in range(d):
        for r in range(repeats):
            shuffled = X.clone()
            shuffled[:, j] = X[permutations[j, r], j]
            drops[j, r] = float(score(y, predict(shuffled)))
    return drops
