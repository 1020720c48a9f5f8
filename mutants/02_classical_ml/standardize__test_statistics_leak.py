# Mutant: scales the test set with its own mean and std (the leak the lesson warns about).
def standardize(X_train, X_test):
    def scale(X):
        std = X.std(dim=0, unbiased=False)
        return (X - X.mean(dim=0)) / torch.where(std == 0, torch.ones_like(std), std)
    return scale(X_train), scale(X_test)
