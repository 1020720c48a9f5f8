def make_deep_mlp():
    """Mutant: 8 hidden tanh layers with PyTorch's default initialisation (passes on some seeds only)."""
    layers, width = [nn.Flatten()], 784
    for _ in range(8):
        layers += [nn.Linear(width, 48), nn.Tanh()]
        width = 48
    return nn.Sequential(*layers, nn.Linear(width, 10))
