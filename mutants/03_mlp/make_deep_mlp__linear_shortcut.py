class _WithShortcut(nn.Module):
    """A deep stack plus a linear path from the pixels to the logits."""

    def __init__(self, stack):
        super().__init__()
        self.stack, self.shortcut = stack, nn.Linear(784, 10)

    def forward(self, x):
        return self.stack(x) + self.shortcut(x.flatten(1))


def make_deep_mlp():
    """Mutant: a sigmoid stack that does not train, hidden behind a linear model that does."""
    layers, width = [], 784
    for _ in range(8):
        layers += [nn.Linear(width, 32), nn.Sigmoid()]
        width = 32
    return nn.Sequential(nn.Flatten(), _WithShortcut(nn.Sequential(*layers, nn.Linear(width, 10))))
