# Mutant: square roots of the eigenvalues of sigma1 @ sigma2 without clipping: NaN for singular covariances.
def frechet_distance(mu1, sigma1, mu2, sigma2):
    mu1, sigma1, mu2, sigma2 = (torch.as_tensor(v).to(torch.float64) for v in (mu1, sigma1, mu2, sigma2))
    trace_root = torch.linalg.eigvals(sigma1 @ sigma2).real.sqrt().sum()
    return float((mu1 - mu2).pow(2).sum() + sigma1.trace() + sigma2.trace() - 2 * trace_root)
