# Mutant: uses feature 0's row orders for every feature (permutations[0, r]) instead of each feature's own.
def permutation_importance(predict, X, y, score, permutations):
    baseline = float(score(y, predict(X)))
    d, repeats = permutations.shape[0], permutations.shape[1]
    drops = torch.empty(d, repeats, dtype=torch.float64)
    for j in range(d):
        for r in range(repeats):
            shuffled = X.clone()
            shuffled[:, j] = X[permutations[0, r], j]
            drops[j, r] = baseline - float(score(y, predict(shuffled)))
    return drops
