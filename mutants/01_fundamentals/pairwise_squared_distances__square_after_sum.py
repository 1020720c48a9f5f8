# Mutant: sums the coordinate differences before squaring them.
def pairwise_squared_distances(a, b):
    return (a.unsqueeze(1) - b.unsqueeze(0)).sum(dim=-1) ** 2
