# Mutant: integrates the gradient of the softmax probability instead of the logit f_c.
def integrated_gradients(model, x, baseline, target, steps=50):
    target = torch.as_tensor(target, device=x.device).expand(x.shape[0]).reshape(-1, 1)
    total = torch.zeros_like(x)
    for k in range(steps):
        alpha = (k + 0.5) / steps
        point = (baseline + alpha * (x - baseline)).detach().requires_grad_(True)
        score = torch.softmax(model(point), dim=1).gather(1, target).sum()
        total += torch.autograd.grad(score, point)[0]
    return ((x - baseline) * total / steps).detach()
