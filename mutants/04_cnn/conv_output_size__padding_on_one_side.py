# Mutant: counts the padding once, as if only one side were padded.
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    span = dilation * (kernel_size - 1) + 1
    if size + padding < span:
        raise ValueError("the kernel does not fit")
    return (size + padding - span) // stride + 1
