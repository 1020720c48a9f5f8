# Mutant: shuffles the targets with a second permutation, so they leave their rows.
def train_val_split(X, y, val_fraction, generator):
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be strictly between 0 and 1, got {val_fraction}")
    n_val = int(len(X) * val_fraction)
    order = torch.randperm(len(X), generator=generator)
    val_rows, train_rows = order[:n_val], order[n_val:]
    y_order = torch.randperm(len(y), generator=generator)
    return (X[train_rows], y[y_order[n_val:]]), (X[val_rows], y[y_order[:n_val]])
