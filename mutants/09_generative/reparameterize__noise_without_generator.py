# Mutant: ignores the generator: right distribution and gradients, samples not reproducible.
def reparameterize(mu, log_var, generator=None):
    return mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
