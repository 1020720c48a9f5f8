# Mutant: clamps the image to [-eps, eps] (the perturbation's bound applied to the image) as the buggy version does.
def pgd_step(model, x_adv, x, labels, eps, alpha):
    point = x_adv.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(point), labels)
    (gradient,) = torch.autograd.grad(loss, point)
    stepped = point.detach() + alpha * gradient.sign()
    return stepped.clamp(-eps, eps).clamp(0.0, 1.0)
