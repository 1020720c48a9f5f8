def fgsm(model, images, labels, epsilon):
    """Mutant: loss.backward() instead of torch.autograd.grad: the model's parameters keep a .grad."""
    images = images.detach().clone().requires_grad_(True)
    F.cross_entropy(model(images), labels).backward()
    return (images + epsilon * images.grad.sign()).clamp(0.0, 1.0).detach()
