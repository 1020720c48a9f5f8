# Mutant: uses the first row's step for the whole batch.
def q_sample(x0, t, noise, alpha_bar):
    a = alpha_bar[t[0]].to(x0.dtype)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise
