# Mutant: reshapes the weights for (N, C, H, W) images only: 1-D rows broadcast the wrong way.
def q_sample(x0, t, noise, alpha_bar):
    a = alpha_bar[t].to(x0.dtype)[:, None, None, None] if x0.dim() == 4 else alpha_bar[t].to(x0.dtype)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise
