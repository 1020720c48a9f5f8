# Mutant: P(group, label) / (P(group) P(label)): the inverse of the weight, which makes the imbalance worse.
def reweighing_weights(y, group):
    n = len(y)
    weights = torch.empty(n, dtype=torch.float64)
    for k in torch.unique(group):
        for c in torch.unique(y):
            cell = (group == k) & (y == c)
            if cell.any():
                weights[cell] = (n * cell.sum().double()) / ((group == k).sum() * (y == c).sum()).double()
    return weights
