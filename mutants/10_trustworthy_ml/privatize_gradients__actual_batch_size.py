# Mutant: divides by the number of examples in this batch instead of the expected batch size.
def privatize_gradients(per_sample, max_norm, noise_multiplier, expected_batch_size, generator=None):
    norms = torch.stack([g.reshape(len(g), -1).norm(dim=1) for g in per_sample.values()], dim=1).norm(dim=1)
    factors = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    result = {}
    for name, g in per_sample.items():
        summed = (factors.to(g.dtype).reshape(-1, *([1] * (g.dim() - 1))) * g).sum(dim=0)
        if noise_multiplier > 0:
            summed = summed + torch.normal(0.0, noise_multiplier * max_norm, size=summed.shape, generator=generator,
                                           dtype=summed.dtype)
        result[name] = summed / len(g)
    return result
