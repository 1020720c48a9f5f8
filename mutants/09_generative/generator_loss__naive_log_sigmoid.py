# Mutant: -log(sigmoid(l)) computed from probabilities: infinite at -200.
def generator_loss(fake_logits):
    return -torch.log(torch.sigmoid(fake_logits)).mean()
