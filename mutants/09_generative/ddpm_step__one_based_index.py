# Mutant: reads alpha_bar one step early (an off-by-one between 0- and 1-based numbering).
def ddpm_step(x_t, eps, t, betas, noise):
    beta = betas[t].item()
    a_bar = torch.prod(1 - betas[:max(t, 1)].to(torch.float64)).item()
    mean = (x_t - beta / math.sqrt(1 - a_bar) * eps) / math.sqrt(1 - beta)
    return mean + math.sqrt(beta) * noise if t > 0 else mean
