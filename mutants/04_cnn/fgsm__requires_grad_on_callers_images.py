def fgsm(model, images, labels, epsilon):
    """Mutant: switches on requires_grad of the caller's own images (and leaves it on)."""
    images.requires_grad_(True)
    loss = F.cross_entropy(model(images), labels)
    (gradient,) = torch.autograd.grad(loss, images)
    return (images + epsilon * gradient.sign()).clamp(0.0, 1.0).detach()
