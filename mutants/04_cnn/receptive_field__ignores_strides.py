# Mutant: adds (k - 1) d per layer but never multiplies by the jump of earlier strides.
def receptive_field(layers):
    field = 1
    for kernel_size, stride, dilation in layers:
        field += (kernel_size - 1) * dilation
    return field
