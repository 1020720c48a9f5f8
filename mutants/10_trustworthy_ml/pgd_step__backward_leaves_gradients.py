# Mutant: uses loss.backward(), which also fills the model's parameter gradients (and accumulates into existing ones).
def pgd_step(model, x_adv, x, labels, eps, alpha):
    point = x_adv.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(point), labels)
    loss.backward()
    stepped = point.detach() + alpha * point.grad.sign()
    return torch.minimum(torch.maximum(stepped, x - eps), x + eps).clamp(0.0, 1.0)
