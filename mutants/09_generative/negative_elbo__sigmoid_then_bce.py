# Mutant: fixes the scale and the sign but keeps sigmoid + binary_cross_entropy (clamped at 100 per pixel).
def negative_elbo(logits, images, mu, log_var, beta=1.0):
    reconstruction = F.binary_cross_entropy(torch.sigmoid(logits), images, reduction="none").flatten(1).sum(dim=1)
    kl = 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(dim=1)
    return (reconstruction + beta * kl).mean()
