# Mutant: divides by sqrt(alpha_bar_t) instead of sqrt(alpha_t).
def ddpm_step(x_t, eps, t, betas, noise):
    beta = betas[t].item()
    a_bar = torch.prod(1 - betas[:t + 1].to(torch.float64)).item()
    mean = (x_t - beta / math.sqrt(1 - a_bar) * eps) / math.sqrt(a_bar)
    return mean + math.sqrt(beta) * noise if t > 0 else mean
