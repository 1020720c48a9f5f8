def causal_self_attention(x, qkv, proj, heads):
    """Mutant: divides the scores by sqrt(E), the model's width, instead of a head's width."""
    b, t, e = x.shape
    size = e // heads
    q, k, v = (z.view(b, t, heads, size).transpose(1, 2) for z in qkv(x).chunk(3, dim=-1))
    scores = q @ k.transpose(-2, -1) / math.sqrt(e)
    scores = scores.masked_fill(~ref.causal_mask(t, x.device), float("-inf"))
    return proj((torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, e))
