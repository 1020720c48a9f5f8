# Mutant: drops the remainder instead of padding it: some ranks would have fewer batches (and DDP would hang).
def shard_indices(size, world_size, rank, epoch, seed=0):
    generator = torch.Generator().manual_seed(seed + epoch)
    order = torch.randperm(size, generator=generator).tolist()
    total = (size // world_size) * world_size
    return order[rank:total:world_size]
