# Mutant: P(label) / P(group, label): forgets the factor P(group), so each group's weights are off by its size.
def reweighing_weights(y, group):
    n = len(y)
    weights = torch.empty(n, dtype=torch.float64)
    for k in torch.unique(group):
        in_group = group == k
        for c in torch.unique(y):
            cell = in_group & (y == c)
            if cell.any():
                weights[cell] = ((y == c).sum().double() / n) / (cell.sum().double() / n)
    return weights
