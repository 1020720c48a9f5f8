# Mutant: forgets the sqrt(1 - alpha_bar) under beta: eps is weighted by beta alone.
def ddpm_step(x_t, eps, t, betas, noise):
    beta = betas[t].item()
    mean = (x_t - beta * eps) / math.sqrt(1 - beta)
    return mean + math.sqrt(beta) * noise if t > 0 else mean
