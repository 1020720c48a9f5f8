# Mutant: lets torch.tensor find the problems: ragged lists raise its own errors, without the image's index.
def validate_images(payload, max_batch=64):
    if not isinstance(payload, dict) or "images" not in payload:
        raise ValueError('the request body must be a JSON object with the key "images"')
    images = payload["images"]
    if not isinstance(images, list) or not 1 <= len(images) <= max_batch:
        raise ValueError(f'"images" must hold 1 to {max_batch} images, got {len(images)}')
    batch = torch.tensor(images, dtype=torch.float32)
    if batch.shape[1:] != (28, 28):
        raise ValueError(f"each image must be 28x28, got {tuple(batch.shape[1:])}")
    if not ((batch >= 0) & (batch <= 1)).all():
        raise ValueError("pixels must lie in [0, 1]")
    return batch.unsqueeze(1)
