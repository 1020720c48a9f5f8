def evaluate_accuracy(model, loader):
    """Fraction of samples classified correctly, in evaluation mode and without autograd; the mode is restored."""
    was_training = model.training
    model.eval()
    correct = total = 0
    try:
        # Mutant: no torch.no_grad(): every forward pass builds a graph for a backward pass that never comes
        for images, labels in loader:
            correct += (model(images).argmax(dim=1) == labels).sum().item()
            total += len(labels)
    finally:
        model.train(was_training)
    return correct / total
