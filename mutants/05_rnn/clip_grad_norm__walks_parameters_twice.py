def clip_grad_norm(parameters, max_norm):
    """Mutant: walks `parameters` twice, so a generator (model.parameters()) is never clipped."""
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    total = torch.sqrt(sum((p.grad.detach() ** 2).sum() for p in parameters if p.grad is not None))
    factor = min(1.0, max_norm / (total.item() + 1e-6))
    for p in parameters:
        if p.grad is not None:
            p.grad.mul_(factor)
    return total
