def bpe_merge_step(tokens, pair, new_id):
    """Mutant: loops while i < len(tokens) - 1, so a last token that is not part of a pair is lost."""
    out, i = [], 0
    while i < len(tokens) - 1:
        if (tokens[i], tokens[i + 1]) == tuple(pair):
            out.append(new_id)
            i += 2
        else:
            out.append(tokens[i])
            i += 1
    return out
