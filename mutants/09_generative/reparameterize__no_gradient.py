# Mutant: samples with torch.normal on detached parameters: right distribution, no gradient.
def reparameterize(mu, log_var, generator=None):
    return torch.normal(mu.detach(), torch.exp(0.5 * log_var.detach()), generator=generator)
