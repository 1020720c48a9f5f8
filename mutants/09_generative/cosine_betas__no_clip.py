# Mutant: forgets to clip: the last beta is 1.
def cosine_betas(steps, s=0.008, max_beta=0.999):
    t = torch.arange(steps + 1, dtype=torch.float64) / steps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    return 1 - f[1:] / f[:-1]
