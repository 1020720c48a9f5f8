# Mutant: every rank sends its whole tensor to every other rank: the right mean, (p - 1) n elements sent per rank.
def ring_all_reduce(per_rank):
    p = len(per_rank)
    mean = torch.stack([t.clone() for t in per_rank]).mean(dim=0)
    sent = [(p - 1) * t.numel() for t in per_rank]
    return [mean.clone() for _ in range(p)], sent
