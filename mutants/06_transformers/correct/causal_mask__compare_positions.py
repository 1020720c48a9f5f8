def causal_mask(size, device=None):
    """Correct alternative: a query at position i may see keys at positions j <= i."""
    positions = torch.arange(size, device=device)
    return positions.unsqueeze(1) >= positions.unsqueeze(0)
