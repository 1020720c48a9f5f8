# Mutant: forgets that the stride defaults to the kernel size (overlapping windows).
def max_pool2d(x, kernel_size, stride=None):
    stride = 1 if stride is None else stride
    n, channels, height, width = x.shape
    out_h = (height - kernel_size) // stride + 1
    out_w = (width - kernel_size) // stride + 1
    windows = F.unfold(x.reshape(n * channels, 1, height, width), kernel_size, stride=stride)
    return windows.max(dim=1).values.reshape(n, channels, out_h, out_w)
