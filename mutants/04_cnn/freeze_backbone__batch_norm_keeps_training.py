# Mutant: freezes the parameters but leaves batch norm in training mode, so its running
# statistics drift away from the pretrained ones.
def freeze_backbone(model):
    for parameter in model[:-1].parameters():
        parameter.requires_grad_(False)
    for parameter in model[-1].parameters():
        parameter.requires_grad_(True)
    return sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)
