# Mutant: uses the tensor's own minimum and maximum without stretching the range to hold 0.
def quantize_int8(x):
    lo, hi = x.min().float(), x.max().float()
    scale = torch.clamp((hi - lo) / 255, min=torch.finfo(torch.float32).eps)
    zero_point = int(torch.clamp(-128 - torch.round(lo / scale), -128, 127))
    q = torch.clamp(torch.round(x / scale.to(x.dtype)) + zero_point, -128, 127).to(torch.int8)
    return q, float(scale), zero_point
