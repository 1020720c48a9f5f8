# Mutant: a true convolution (the kernel flipped), where deep learning's "convolution" is a
# cross-correlation.
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    n, _, height, width = x.shape
    out_channels, _, kernel, _ = weight.shape
    span = dilation * (kernel - 1) + 1
    out_h = (height + 2 * padding - span) // stride + 1
    out_w = (width + 2 * padding - span) // stride + 1
    columns = F.unfold(x, kernel, dilation=dilation, padding=padding, stride=stride)
    out = weight.flip(-1, -2).reshape(out_channels, -1) @ columns
    out = out.reshape(n, out_channels, out_h, out_w)
    return out if bias is None else out + bias.view(1, -1, 1, 1)
