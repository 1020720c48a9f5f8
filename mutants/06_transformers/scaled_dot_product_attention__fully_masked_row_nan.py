def scaled_dot_product_attention(q, k, v, mask=None):
    """Mutant: masks with -1e9 instead of -inf, so a query whose keys are all masked gets uniform
    weights over the masked keys instead of zeros."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, -1e9)
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
