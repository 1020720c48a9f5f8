def causal_self_attention(x, qkv, proj, heads):
    """Mutant: splits the heads with reshape(B, nh, T, hs), which mixes positions into heads."""
    b, t, e = x.shape
    size = e // heads
    q, k, v = (z.reshape(b, heads, t, size) for z in qkv(x).chunk(3, dim=-1))
    scores = q @ k.transpose(-2, -1) / math.sqrt(size)
    scores = scores.masked_fill(~ref.causal_mask(t, x.device), float("-inf"))
    return proj((torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, e))
