# Mutant: the KL with the sign of the ELBO's term: negative.
def gaussian_kl(mu, log_var):
    return -0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(dim=-1)
