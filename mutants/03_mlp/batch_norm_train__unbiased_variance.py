def batch_norm_train(x, gamma, beta, eps=1e-5):
    """Training-mode batch norm. Shapes: x (N, D), gamma (D,), beta (D,) -> (N, D)."""
    mean = x.mean(dim=0)
    var = x.var(dim=0)  # unbiased (divides by N - 1)
    return (x - mean) / torch.sqrt(var + eps) * gamma + beta
