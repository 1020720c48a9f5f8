def mlp_backward(x, targets, w1, b1, w2, b2):
    """Loss and gradients of relu(x w1^T + b1) w2^T + b2 under mean cross-entropy, without autograd."""
    n = x.shape[0]
    z1 = x @ w1.T + b1  # (N, H)
    h = torch.relu(z1)
    z2 = h @ w2.T + b2  # (N, C)
    log_probs = z2 - torch.logsumexp(z2, dim=1, keepdim=True)
    loss = -log_probs[torch.arange(n), targets].mean()
    dz2 = (log_probs.exp() - F.one_hot(targets, z2.shape[1]).to(z2.dtype)) / n  # (N, C)
    dw2, db2 = dz2.T @ h, dz2.sum(dim=0)
    # Mutant: the gradient goes back through ReLU unchanged, as if its slope were 1 everywhere
    dz1 = dz2 @ w2  # (N, H)
    dw1, db1 = dz1.T @ x, dz1.sum(dim=0)
    return loss, (dw1, db1, dw2, db2)
