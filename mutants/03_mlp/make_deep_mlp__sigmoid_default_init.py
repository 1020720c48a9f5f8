def make_deep_mlp():
    """Mutant: 8 hidden sigmoid layers with PyTorch's default initialisation and no normalisation."""
    layers, width = [nn.Flatten()], 784
    for _ in range(8):
        layers += [nn.Linear(width, 48), nn.Sigmoid()]
        width = 48
    return nn.Sequential(*layers, nn.Linear(width, 10))
