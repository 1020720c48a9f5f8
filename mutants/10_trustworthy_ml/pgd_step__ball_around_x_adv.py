# Mutant: projects onto the ball around the current x_adv instead of the clean x: the perturbation grows without bound over the steps.
def pgd_step(model, x_adv, x, labels, eps, alpha):
    point = x_adv.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(point), labels)
    (gradient,) = torch.autograd.grad(loss, point)
    stepped = point.detach() + alpha * gradient.sign()
    return torch.minimum(torch.maximum(stepped, x_adv - eps), x_adv + eps).clamp(0.0, 1.0)
