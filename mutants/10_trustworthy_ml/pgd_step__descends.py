# Mutant: subtracts the step (gradient descent on the loss: makes the image easier, not harder).
def pgd_step(model, x_adv, x, labels, eps, alpha):
    point = x_adv.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(point), labels)
    (gradient,) = torch.autograd.grad(loss, point)
    stepped = point.detach() - alpha * gradient.sign()
    return torch.minimum(torch.maximum(stepped, x - eps), x + eps).clamp(0.0, 1.0)
