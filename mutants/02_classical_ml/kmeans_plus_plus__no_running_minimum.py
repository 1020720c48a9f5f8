# Mutant: weights by the distance to the first center only, never to the nearest chosen one.
def kmeans_plus_plus(X, k, generator=None):
    first = torch.randint(X.shape[0], (1,), generator=generator)[0]
    centers = [X[first]]
    distance = ((X - X[first]) ** 2).sum(dim=1)
    for _ in range(1, k):
        index = torch.multinomial(distance / distance.sum(), 1, generator=generator)[0]
        centers.append(X[index])
    return torch.stack(centers)
