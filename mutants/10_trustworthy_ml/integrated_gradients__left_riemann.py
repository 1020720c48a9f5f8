# Mutant: the left Riemann rule, alpha = k / steps (starts at the baseline, never reaches the input).
def integrated_gradients(model, x, baseline, target, steps=50):
    target = torch.as_tensor(target, device=x.device).expand(x.shape[0]).reshape(-1, 1)
    total = torch.zeros_like(x)
    for k in range(steps):
        alpha = k / steps
        point = (baseline + alpha * (x - baseline)).detach().requires_grad_(True)
        score = model(point).gather(1, target).sum()
        total += torch.autograd.grad(score, point)[0]
    return ((x - baseline) * total / steps).detach()
