# Mutant: one random offset used for rows and columns (crops only along the diagonal).
def random_crop_flip(images, padding, generator):
    n, _, height, width = images.shape
    rows = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    cols = rows
    flips = torch.rand(n, generator=generator) < 0.5
    padded = F.pad(images, (padding, padding, padding, padding))
    out = torch.empty_like(images)
    for index in range(n):
        crop = padded[index, :, rows[index]:rows[index] + height, cols[index]:cols[index] + width]
        out[index] = crop.flip(-1) if flips[index] else crop
    return out
