# Mutant: divides by the sample standard deviation (N - 1), not the population one.
def standardize(X_train, X_test):
    mean = X_train.mean(dim=0)
    std = X_train.std(dim=0)
    std = torch.where(std == 0, torch.ones_like(std), std)
    return (X_train - mean) / std, (X_test - mean) / std
