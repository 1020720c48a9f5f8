# Mutant: takes the farthest center instead of the nearest.
def kmeans_assign(X, centers):
    distances = ((X.unsqueeze(1) - centers.unsqueeze(0)) ** 2).sum(dim=-1)
    return distances.argmax(dim=1)
