# Mutant: tr(sigma1^1/2 sigma2^1/2), right only when the two covariances commute.
def frechet_distance(mu1, sigma1, mu2, sigma2):
    mu1, sigma1, mu2, sigma2 = (torch.as_tensor(v).to(torch.float64) for v in (mu1, sigma1, mu2, sigma2))

    def root(m):
        values, vectors = torch.linalg.eigh(m)
        return (vectors * values.clamp(min=0).sqrt()) @ vectors.T

    trace_root = (root(sigma1) @ root(sigma2)).trace()
    return float((mu1 - mu2).pow(2).sum() + sigma1.trace() + sigma2.trace() - 2 * trace_root)
