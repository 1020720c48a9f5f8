def scaled_dot_product_attention(q, k, v, mask=None):
    """Mutant: forgets to divide the scores by sqrt(d_k)."""
    scores = q @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights.nan_to_num(0.0)
    return weights @ v, weights
