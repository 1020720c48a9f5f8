# Mutant: stops after the reduce-scatter: each rank holds the full sum of one chunk only.
def ring_all_reduce(per_rank):
    p = len(per_rank)
    chunks = [list(torch.tensor_split(t.reshape(-1), p)) for t in per_rank]
    sent = [0] * p
    for step in range(p - 1):
        for r in range(p):
            c = (r - step) % p
            chunks[(r + 1) % p][c] = chunks[(r + 1) % p][c] + chunks[r][c]
            sent[r] += len(chunks[r][c])
    return [(torch.cat(c) / p).reshape(t.shape) for c, t in zip(chunks, per_rank)], sent
