# Mutant: assumes labels 0 and 1 and groups 0 and 1 (loops over range(2)): other values get uninitialised weights.
def reweighing_weights(y, group):
    n = len(y)
    weights = torch.zeros(n, dtype=torch.float64)
    for k in range(2):
        for c in range(2):
            cell = (group == k) & (y == c)
            if cell.any():
                weights[cell] = ((group == k).sum() * (y == c).sum()).double() / (n * cell.sum().double())
    return weights
