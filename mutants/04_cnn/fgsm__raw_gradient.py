# Mutant: steps along the gradient itself instead of its sign (not an epsilon-bounded change).
def fgsm(model, images, labels, epsilon):
    images = images.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(images), labels)
    (gradient,) = torch.autograd.grad(loss, images)
    return (images + epsilon * gradient).clamp(0.0, 1.0).detach()
