# Mutant: swaps the two weights (noise weighted by sqrt(alpha_bar)).
def q_sample(x0, t, noise, alpha_bar):
    a = alpha_bar[t].to(x0.dtype).reshape(-1, *([1] * (x0.dim() - 1)))
    return (1 - a).sqrt() * x0 + a.sqrt() * noise
