# Mutant: the loop that never calls set_epoch: every epoch gets the order of epoch 0.
def shard_indices(size, world_size, rank, epoch, seed=0):
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(size, generator=generator).tolist()
    total = math.ceil(size / world_size) * world_size
    order = (order * math.ceil(total / size))[:total]
    return order[rank:total:world_size]
