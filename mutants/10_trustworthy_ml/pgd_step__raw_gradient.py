# Mutant: steps along the raw gradient instead of its sign (an L2-style step whose size depends on the gradient's scale).
def pgd_step(model, x_adv, x, labels, eps, alpha):
    point = x_adv.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(point), labels)
    (gradient,) = torch.autograd.grad(loss, point)
    stepped = point.detach() + alpha * gradient
    return torch.minimum(torch.maximum(stepped, x - eps), x + eps).clamp(0.0, 1.0)
