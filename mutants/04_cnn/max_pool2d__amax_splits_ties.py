# Mutant: amax, whose gradient is shared among tied maxima, where PyTorch gives it to the first.
def max_pool2d(x, kernel_size, stride=None):
    stride = kernel_size if stride is None else stride
    n, channels, height, width = x.shape
    out_h = (height - kernel_size) // stride + 1
    out_w = (width - kernel_size) // stride + 1
    windows = F.unfold(x.reshape(n * channels, 1, height, width), kernel_size, stride=stride)
    return windows.amax(dim=1).reshape(n, channels, out_h, out_w)
