def pad_and_mask(sequences, padding_value=0):
    """Mutant: the mask says where the padded tensor differs from the padding value."""
    if len(sequences) == 0:
        raise ValueError("pad_and_mask needs at least one sequence")
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    padded = nn.utils.rnn.pad_sequence(sequences, batch_first=True, padding_value=padding_value)
    mask = padded != padding_value
    if mask.dim() > 2:
        mask = mask.flatten(2).any(dim=2)
    return padded, mask, lengths
