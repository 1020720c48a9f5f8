# Mutant: the minimax (saturating) loss log(1 - D(G(z))) instead of -log D(G(z)).
def generator_loss(fake_logits):
    return -F.softplus(fake_logits).mean()
