def pad_and_mask(sequences, padding_value=0):
    """Mutant: padded and mask are made on the CPU, whatever the sequences' device."""
    if len(sequences) == 0:
        raise ValueError("pad_and_mask needs at least one sequence")
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    longest = int(lengths.max())
    first = sequences[0]
    padded = torch.full((len(sequences), longest, *first.shape[1:]), padding_value, dtype=first.dtype)
    for row, sequence in enumerate(sequences):
        padded[row, :len(sequence)] = sequence
    mask = torch.arange(longest).unsqueeze(0) < lengths.unsqueeze(1)
    return padded, mask, lengths
