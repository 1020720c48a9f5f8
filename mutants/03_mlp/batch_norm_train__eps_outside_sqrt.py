# Mutant: eps added after the square root, sqrt(var) + eps. With eps = 1e-5 and a variance
# near 1 it is within a loose tolerance; F.batch_norm puts eps inside: sqrt(var + eps).
def batch_norm_train(x, gamma, beta, eps=1e-5):
    mean = x.mean(dim=0)
    var = x.var(dim=0, unbiased=False)
    return (x - mean) / (torch.sqrt(var) + eps) * gamma + beta
