# Mutant: 256 steps instead of 255 between 256 integers.
def quantize_int8(x):
    zero = torch.zeros((), dtype=torch.float32)
    lo = torch.minimum(x.min().float(), zero)
    hi = torch.maximum(x.max().float(), zero)
    scale = torch.clamp((hi - lo) / 256, min=torch.finfo(torch.float32).eps)
    zero_point = int(torch.clamp(-128 - torch.round(lo / scale), -128, 127))
    q = torch.clamp(torch.round(x / scale.to(x.dtype)) + zero_point, -128, 127).to(torch.int8)
    return q, float(scale), zero_point
