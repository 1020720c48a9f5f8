# Mutant: takes the SVD of the raw data, without subtracting the mean.
def pca_project(X, n_components):
    _, _, vh = torch.linalg.svd(X, full_matrices=False)
    components = vh[:n_components]
    return X @ components.T, components
