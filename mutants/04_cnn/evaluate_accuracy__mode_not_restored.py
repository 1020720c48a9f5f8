def evaluate_accuracy(model, loader):
    """Fraction of samples classified correctly, in evaluation mode and without autograd; the mode is restored."""
    model.eval()
    correct = total = 0
    # Mutant: leaves the model in evaluation mode: a training loop that evaluates between epochs trains on
    # with dropout off and batch norm frozen
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(dim=1) == labels).sum().item()
            total += len(labels)
    return correct / total
