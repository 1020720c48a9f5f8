def causal_self_attention(x, qkv, proj, heads):
    """Mutant: zeroes the future's weights after the softmax, whose denominator still holds the future's scores."""
    b, t, e = x.shape
    size = e // heads
    q, k, v = (z.view(b, t, heads, size).transpose(1, 2) for z in qkv(x).chunk(3, dim=-1))
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(size), dim=-1)
    weights = weights.masked_fill(~ref.causal_mask(t, x.device), 0.0)
    return proj((weights @ v).transpose(1, 2).reshape(b, t, e))
