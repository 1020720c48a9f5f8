# Mutant: the textbook formula, which overflows to inf/nan for large |logits|.
def bce_with_logits(logits, targets):
    p = torch.sigmoid(logits)
    return -(targets * torch.log(p) + (1 - targets) * torch.log(1 - p)).mean()
