def cross_entropy(logits, targets, label_smoothing=0.0):
    """Mean cross-entropy. Shapes: logits (N, C), targets (N,) int64 class indices -> scalar."""
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    classes = logits.shape[1]
    smooth = torch.full_like(log_probs, label_smoothing / (classes - 1))  # eps spread over the C - 1 wrong classes
    smooth.scatter_(1, targets.unsqueeze(1), 1 - label_smoothing)
    return -(smooth * log_probs).sum(dim=1).mean()
