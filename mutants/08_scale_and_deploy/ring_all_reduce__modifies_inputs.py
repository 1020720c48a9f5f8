# Mutant: splits the inputs without copying and adds in place: the callers' gradients change.
def ring_all_reduce(per_rank):
    p = len(per_rank)
    shape, dtype = per_rank[0].shape, per_rank[0].dtype
    chunks = [list(torch.tensor_split(t.reshape(-1), p)) for t in per_rank]
    sent = [0] * p
    for step in range(p - 1):
        messages = [(r, (r - step) % p, chunks[r][(r - step) % p].clone()) for r in range(p)]
        for r, c, payload in messages:
            chunks[(r + 1) % p][c] += payload
            sent[r] += payload.numel()
    for step in range(p - 1):
        messages = [(r, (r + 1 - step) % p, chunks[r][(r + 1 - step) % p].clone()) for r in range(p)]
        for r, c, payload in messages:
            chunks[(r + 1) % p][c].copy_(payload)
            sent[r] += payload.numel()
    return [(torch.cat(c) / p).reshape(shape).to(dtype) for c in chunks], sent
