# Mutant: uses sigma^4 (exp(2 log_var)) where the formula has sigma^2.
def gaussian_kl(mu, log_var):
    return 0.5 * (mu.pow(2) + (2 * log_var).exp() - 1.0 - log_var).sum(dim=-1)
