# Mutant: log of sigmoid probabilities: right for moderate logits, infinite at -200.
def discriminator_loss(real_logits, fake_logits):
    return -torch.log(torch.sigmoid(real_logits)).mean() - torch.log(1 - torch.sigmoid(fake_logits)).mean()
