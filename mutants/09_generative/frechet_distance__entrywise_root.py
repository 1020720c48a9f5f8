# Mutant: the square root of each entry of sigma1 @ sigma2 instead of the matrix square root.
def frechet_distance(mu1, sigma1, mu2, sigma2):
    mu1, sigma1, mu2, sigma2 = (torch.as_tensor(v).to(torch.float64) for v in (mu1, sigma1, mu2, sigma2))
    trace_root = (sigma1 @ sigma2).abs().sqrt().trace()
    return float((mu1 - mu2).pow(2).sum() + sigma1.trace() + sigma2.trace() - 2 * trace_root)
