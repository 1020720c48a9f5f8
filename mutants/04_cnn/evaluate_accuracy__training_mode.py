def evaluate_accuracy(model, loader):
    """Fraction of samples classified correctly, in evaluation mode and without autograd; the mode is restored."""
    # Mutant: never switches to evaluation mode: batch norm normalises with each batch's statistics (and updates
    # its running ones), dropout stays on
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(dim=1) == labels).sum().item()
            total += len(labels)
    return correct / total
