# Mutant: takes exp(log_var), the variance, as the standard deviation.
def reparameterize(mu, log_var, generator=None):
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + torch.exp(log_var) * eps
