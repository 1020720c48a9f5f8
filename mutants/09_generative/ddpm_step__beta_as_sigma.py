# Mutant: uses beta as the noise's standard deviation (sigma^2 = beta^2).
def ddpm_step(x_t, eps, t, betas, noise):
    beta = betas[t].item()
    a_bar = torch.prod(1 - betas[:t + 1].to(torch.float64)).item()
    mean = (x_t - beta / math.sqrt(1 - a_bar) * eps) / math.sqrt(1 - beta)
    return mean + beta * noise if t > 0 else mean
