# Mutant: forgets to clamp to the valid pixel range [0, 1].
def fgsm(model, images, labels, epsilon):
    images = images.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(images), labels)
    (gradient,) = torch.autograd.grad(loss, images)
    return (images + epsilon * gradient.sign()).detach()
