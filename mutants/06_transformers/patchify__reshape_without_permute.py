def patchify(images, patch):
    """Mutant: reshapes the image straight into (B, N, C p p) without moving the patch axes together,
    so each "patch" is a strip of pixel rows."""
    b, c, h, w = images.shape
    if h % patch or w % patch:
        raise ValueError(f"a {h}x{w} image does not split into {patch}x{patch} patches")
    return images.reshape(b, (h // patch) * (w // patch), c * patch * patch)
