# Mutant: the kernel's span without dilation (k instead of d (k - 1) + 1).
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    if size + 2 * padding < kernel_size:
        raise ValueError("the kernel does not fit")
    return (size + 2 * padding - kernel_size) // stride + 1
