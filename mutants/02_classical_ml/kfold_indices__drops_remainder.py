# Mutant: equal folds of n // k samples; the last n % k samples are never validated.
def kfold_indices(n, k):
    size = n // k
    indices = torch.arange(n)
    return [(torch.cat([indices[:i * size], indices[(i + 1) * size:]]), indices[i * size:(i + 1) * size])
            for i in range(k)]
