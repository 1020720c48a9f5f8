# Mutant: sums over everything: one number for the batch instead of one per row.
def gaussian_kl(mu, log_var):
    return 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum()
