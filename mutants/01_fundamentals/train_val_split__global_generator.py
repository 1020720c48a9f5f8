# Mutant: ignores the generator: the split follows the global seed.
def train_val_split(X, y, val_fraction, generator):
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be strictly between 0 and 1, got {val_fraction}")
    n_val = int(len(X) * val_fraction)
    order = torch.randperm(len(X))
    val_rows, train_rows = order[:n_val], order[n_val:]
    return (X[train_rows], y[train_rows]), (X[val_rows], y[val_rows])
