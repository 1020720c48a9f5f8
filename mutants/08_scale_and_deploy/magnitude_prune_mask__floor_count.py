# Mutant: int() truncates the count where PyTorch rounds it.
def magnitude_prune_mask(weight, amount):
    count = int(amount * weight.numel())
    mask = torch.ones_like(weight)
    if count:
        smallest = torch.topk(weight.detach().abs().reshape(-1), k=count, largest=False).indices
        mask.view(-1)[smallest] = 0
    return mask
