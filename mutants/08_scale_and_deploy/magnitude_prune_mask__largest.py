# Mutant: removes the largest magnitudes instead of the smallest.
def magnitude_prune_mask(weight, amount):
    count = round(amount * weight.numel())
    mask = torch.ones_like(weight)
    if count:
        largest = torch.topk(weight.detach().abs().reshape(-1), k=count, largest=True).indices
        mask.view(-1)[largest] = 0
    return mask
