# Mutant: updates the jump before the field, so a layer's own stride already counts.
def receptive_field(layers):
    field, jump = 1, 1
    for kernel_size, stride, dilation in layers:
        jump *= stride
        field += (kernel_size - 1) * dilation * jump
    return field
