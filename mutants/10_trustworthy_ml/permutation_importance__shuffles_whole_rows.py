# Mutant: reorders whole rows of X (every feature together), which keeps every row intact and changes no prediction's pairing with its features.
def permutation_importance(predict, X, y, score, permutations):
    baseline = float(score(y, predict(X)))
    d, repeats = permutations.shape[0], permutations.shape[1]
    drops = torch.empty(d, repeats, dtype=torch.float64)
    for j in range(d):
        for r in range(repeats):
            shuffled = X[permutations[j, r]]
            drops[j, r] = baseline - float(score(y[permutations[j, r]], predict(shuffled)))
    return drops
