# Mutant: truncates toward zero (a cast) instead of rounding.
def quantize_int8(x):
    zero = torch.zeros((), dtype=torch.float32)
    lo = torch.minimum(x.min().float(), zero)
    hi = torch.maximum(x.max().float(), zero)
    scale = torch.clamp((hi - lo) / 255, min=torch.finfo(torch.float32).eps)
    zero_point = int(torch.clamp(-128 - torch.round(lo / scale), -128, 127))
    q = torch.clamp((x / scale.to(x.dtype)).trunc() + zero_point, -128, 127).to(torch.int8)
    return q, float(scale), zero_point
