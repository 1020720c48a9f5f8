# Mutant: ranks the signed values, not their magnitudes: removes the most negative weights.
def magnitude_prune_mask(weight, amount):
    count = round(amount * weight.numel())
    mask = torch.ones_like(weight)
    if count:
        smallest = torch.topk(weight.detach().reshape(-1), k=count, largest=False).indices
        mask.view(-1)[smallest] = 0
    return mask
