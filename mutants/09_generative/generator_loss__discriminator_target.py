# Mutant: trains the generator towards the discriminator's target for fakes (label 0).
def generator_loss(fake_logits):
    return F.softplus(fake_logits).mean()
