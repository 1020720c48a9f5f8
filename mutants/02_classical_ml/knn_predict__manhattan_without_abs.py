# Mutant: sums signed differences for Manhattan: large negative differences count as near.
def knn_predict(X_train, y_train, X_query, k, metric="euclidean"):
    if metric == "euclidean":
        distances = ((X_query.unsqueeze(1) - X_train.unsqueeze(0)) ** 2).sum(dim=-1).sqrt()
    elif metric == "manhattan":
        distances = (X_query.unsqueeze(1) - X_train.unsqueeze(0)).sum(dim=-1)
    elif metric == "cosine":
        unit_query = X_query / X_query.norm(dim=1, keepdim=True)
        unit_train = X_train / X_train.norm(dim=1, keepdim=True)
        distances = 1 - unit_query @ unit_train.T
    else:
        raise ValueError(f"unknown metric {metric!r}: use 'euclidean', 'manhattan' or 'cosine'")
    nearest = distances.topk(k, dim=1, largest=False).indices
    votes = torch.nn.functional.one_hot(y_train[nearest], int(y_train.max()) + 1).sum(dim=1)
    return votes.argmax(dim=1)
