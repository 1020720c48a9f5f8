# Mutant: draws the next center with probability proportional to D(x), not D(x)^2. The
# centers still spread over well separated groups, so only the draw itself tells them apart.
def kmeans_plus_plus(X, k, generator=None):
    first = torch.randint(X.shape[0], (1,), generator=generator)[0]
    centers = [X[first]]
    closest = ((X - X[first]) ** 2).sum(dim=1)
    for _ in range(1, k):
        index = torch.multinomial(closest.sqrt() / closest.sqrt().sum(), 1, generator=generator)[0]
        centers.append(X[index])
        closest = torch.minimum(closest, ((X - X[index]) ** 2).sum(dim=1))
    return torch.stack(centers)
