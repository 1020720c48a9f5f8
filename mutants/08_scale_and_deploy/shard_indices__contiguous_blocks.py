# Mutant: gives each rank a contiguous block of the permutation instead of every world_size-th index.
def shard_indices(size, world_size, rank, epoch, seed=0):
    generator = torch.Generator().manual_seed(seed + epoch)
    order = torch.randperm(size, generator=generator).tolist()
    per_rank = math.ceil(size / world_size)
    order = (order * math.ceil(per_rank * world_size / size))[:per_rank * world_size]
    return order[rank * per_rank:(rank + 1) * per_rank]
