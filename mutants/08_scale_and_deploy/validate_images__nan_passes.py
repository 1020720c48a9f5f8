# Mutant: checks the range with "value < 0 or value > 1", which is false for NaN: NaN pixels pass.
def validate_images(payload, max_batch=64):
    if not isinstance(payload, dict) or "images" not in payload:
        raise ValueError('the request body must be a JSON object with the key "images"')
    images = payload["images"]
    if not isinstance(images, list):
        raise ValueError(f'"images" must be a list of images, got {type(images).__name__}')
    if not 1 <= len(images) <= max_batch:
        raise ValueError(f'"images" must hold 1 to {max_batch} images, got {len(images)}')
    for i, image in enumerate(images):
        if not isinstance(image, list) or len(image) != 28:
            found = len(image) if isinstance(image, list) else type(image).__name__
            raise ValueError(f"images[{i}] must be a list of 28 rows, got {found}")
        for r, row in enumerate(image):
            if not isinstance(row, list) or len(row) != 28:
                found = len(row) if isinstance(row, list) else type(row).__name__
                raise ValueError(f"images[{i}] row {r} must hold 28 values, got {found}")
            for value in row:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"images[{i}] row {r} holds {value!r}: pixels must be numbers")
                if value < 0.0 or value > 1.0:
                    raise ValueError(f"images[{i}] row {r} holds {value}: pixels must lie in [0, 1]")
    return torch.tensor(images, dtype=torch.float32).unsqueeze(1)
