# Mutant: draws every center uniformly (plain random initialisation, no D(x)^2 weighting).
def kmeans_plus_plus(X, k, generator=None):
    chosen = torch.randperm(X.shape[0], generator=generator)[:k]
    return X[chosen]
