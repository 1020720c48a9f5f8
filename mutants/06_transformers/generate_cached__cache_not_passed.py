def generate_cached(model, prompt, steps):
    """Mutant: feeds each new token without the cache, so the model sees it alone at position 0."""
    tokens = prompt
    with torch.no_grad():
        logits, cache = model.step(prompt)
        for i in range(steps):
            next_id = logits[:, -1].argmax(dim=-1, keepdim=True)
            tokens = torch.cat([tokens, next_id], dim=1)
            if i < steps - 1:
                logits, cache = model.step(next_id)
    return tokens
