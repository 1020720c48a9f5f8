# Mutant: no clamp: values rounding past 127 wrap around in the int8 cast.
def quantize_int8(x):
    zero = torch.zeros((), dtype=torch.float32)
    lo = torch.minimum(x.min().float(), zero)
    hi = torch.maximum(x.max().float(), zero)
    scale = torch.clamp((hi - lo) / 255, min=torch.finfo(torch.float32).eps)
    zero_point = int(-128 - torch.round(lo / scale))
    q = (torch.round(x / scale.to(x.dtype)) + zero_point).to(torch.int8)
    return q, float(scale), zero_point
