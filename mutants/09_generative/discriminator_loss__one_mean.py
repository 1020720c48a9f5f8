# Mutant: one mean over both batches together (half the loss, and wrong weights for unequal batches).
def discriminator_loss(real_logits, fake_logits):
    return torch.cat([F.softplus(-real_logits), F.softplus(fake_logits)]).mean()
