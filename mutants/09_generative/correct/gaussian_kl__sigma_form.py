def gaussian_kl(mu, log_var):
    """Correct alternative: written with sigma = exp(log_var / 2)."""
    sigma = torch.exp(0.5 * log_var)
    return (0.5 * (mu * mu + sigma * sigma) - 0.5 - torch.log(sigma)).sum(dim=-1)
