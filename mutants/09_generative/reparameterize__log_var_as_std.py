# Mutant: multiplies the noise by log_var itself, as if it were the standard deviation.
def reparameterize(mu, log_var, generator=None):
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + log_var * eps
