# Mutant: subtracts the KL (one of the buggy version's bugs) but sums the pixels.
def negative_elbo(logits, images, mu, log_var, beta=1.0):
    reconstruction = F.binary_cross_entropy_with_logits(logits, images, reduction="none").flatten(1).sum(dim=1)
    kl = 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(dim=1)
    return (reconstruction - beta * kl).mean()
