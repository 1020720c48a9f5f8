def causal_self_attention(x, qkv, proj, heads):
    """Mutant: joins the heads with reshape(B, T, E) straight from (B, nh, T, hs), without the transpose back."""
    b, t, e = x.shape
    size = e // heads
    q, k, v = (z.view(b, t, heads, size).transpose(1, 2) for z in qkv(x).chunk(3, dim=-1))
    scores = q @ k.transpose(-2, -1) / math.sqrt(size)
    scores = scores.masked_fill(~ref.causal_mask(t, x.device), float("-inf"))
    return proj((torch.softmax(scores, dim=-1) @ v).reshape(b, t, e))
