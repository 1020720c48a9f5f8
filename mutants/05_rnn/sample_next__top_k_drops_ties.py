def sample_next(logits, temperature=1.0, top_k=None, generator=None):
    """Mutant: keeps exactly the k indices topk returns, dropping logits tied with the k-th."""
    if temperature == 0:
        return logits.argmax(dim=-1)
    scaled = logits / temperature
    if top_k is not None and top_k < scaled.shape[-1]:
        index = torch.topk(scaled, top_k, dim=-1).indices
        scaled = torch.full_like(scaled, float("-inf")).scatter(-1, index, scaled.gather(-1, index))
    probabilities = torch.softmax(scaled, dim=-1)
    return torch.multinomial(probabilities, 1, generator=generator).squeeze(1)
