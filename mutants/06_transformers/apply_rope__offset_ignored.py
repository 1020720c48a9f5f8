def apply_rope(x, base=10000.0, offset=0):
    """Mutant: ignores offset, so tokens fed after a key/value cache are rotated as position 0, 1, ..."""
    *_, length, dim = x.shape
    if dim % 2:
        raise ValueError(f"the last dimension must be even, got {dim}")
    positions = torch.arange(length, dtype=torch.float64, device=x.device).unsqueeze(1)
    angles = positions * base ** (-torch.arange(0, dim, 2, dtype=torch.float64, device=x.device) / dim)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    even, odd = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out
