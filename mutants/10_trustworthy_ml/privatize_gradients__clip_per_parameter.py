# Mutant: clips each parameter's gradient to norm max_norm separately (an example's total norm can reach sqrt(#parameters) times max_norm).
def privatize_gradients(per_sample, max_norm, noise_multiplier, expected_batch_size, generator=None):
    result = {}
    for name, g in per_sample.items():
        norms = g.reshape(len(g), -1).norm(dim=1)
        factors = (max_norm / (norms + 1e-6)).clamp(max=1.0)
        summed = (factors.to(g.dtype).reshape(-1, *([1] * (g.dim() - 1))) * g).sum(dim=0)
        if noise_multiplier > 0:
            summed = summed + torch.normal(0.0, noise_multiplier * max_norm, size=summed.shape, generator=generator,
                                           dtype=summed.dtype)
        result[name] = summed / expected_batch_size
    return result
