# Mutant: divides the weights by their sum (a distribution over examples): ratios right, scale wrong.
def reweighing_weights(y, group):
    n = len(y)
    weights = torch.empty(n, dtype=torch.float64)
    for k in torch.unique(group):
        for c in torch.unique(y):
            cell = (group == k) & (y == c)
            if cell.any():
                weights[cell] = ((group == k).sum() * (y == c).sum()).double() / (n * cell.sum().double())
    return weights / weights.sum()
