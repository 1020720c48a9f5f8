def sinusoidal_positions(length, dim, base=10000.0):
    """Mutant: puts all sines in the first half and all cosines in the second (a common layout, but
    not the interleaved one asked for)."""
    if dim % 2:
        raise ValueError(f"dim must be even, got {dim}")
    positions = torch.arange(length, dtype=torch.float64).unsqueeze(1)
    frequencies = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    angles = positions * frequencies
    return torch.cat([angles.sin(), angles.cos()], dim=1).float()
