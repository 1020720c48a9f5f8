"""utils.attention against PyTorch's built-ins: same weights, float64, values and gradients."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from utils import attention as A


def close(a, b, what, rtol=1e-10, atol=1e-12):
    torch.testing.assert_close(a, b, rtol=rtol, atol=atol, msg=lambda m: f"{what}: {m}")


def randn(*shape, seed=0, grad=False):
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)).requires_grad_(grad)


@pytest.mark.parametrize("masked", [False, True])
def test_scaled_dot_product_attention_matches_the_builtin_with_gradients(masked):
    q, k, v = randn(2, 3, 5, 4, seed=1, grad=True), randn(2, 3, 7, 4, seed=2, grad=True), randn(2, 3, 7, 6, seed=3, grad=True)
    mask = torch.rand(5, 7, generator=torch.Generator().manual_seed(4)) > 0.3 if masked else None
    if masked:
        mask[:, 0] = True  # every query keeps at least one key
    ours, weights = A.scaled_dot_product_attention(q, k, v, mask)
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    close(ours, theirs, "attention output")
    close(weights.sum(-1), torch.ones(2, 3, 5, dtype=torch.float64), "weights sum to 1")
    for a, b in zip(torch.autograd.grad(ours.pow(2).sum(), (q, k, v)), torch.autograd.grad(theirs.pow(2).sum(), (q, k, v))):
        close(a, b, "gradient")


def test_causal_mask_and_a_fully_masked_row():
    assert A.causal_mask(3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    q, k, v = randn(1, 4, 8, seed=5), randn(1, 4, 8, seed=6), randn(1, 4, 8, seed=7)
    close(A.scaled_dot_product_attention(q, k, v, A.causal_mask(4))[0],
          F.scaled_dot_product_attention(q, k, v, is_causal=True), "causal attention")
    one = A.scaled_dot_product_attention(q[:, :1], k[:, :1], v[:, :1], A.causal_mask(1))[0]  # T = 1
    close(one, v[:, :1], "T = 1 attends to itself only")
    nothing = torch.tensor([[False] * 4, [True] * 4, [True] * 4, [True] * 4])
    out, weights = A.scaled_dot_product_attention(q, k, v, nothing)
    assert not out.isnan().any() and out[0, 0].abs().max() == 0 and weights[0, 0].sum() == 0


def test_scaling_keeps_the_softmax_from_saturating():
    q, k = randn(1, 64, 256, seed=8), randn(1, 64, 256, seed=9)
    scaled = torch.softmax(q @ k.transpose(-2, -1) / 16, dim=-1).max(-1).values.mean()
    unscaled = torch.softmax(q @ k.transpose(-2, -1), dim=-1).max(-1).values.mean()
    assert unscaled > 0.8 and scaled < 0.2  # without 1/sqrt(d_k) the largest weight takes most of the row


def test_multi_head_attention_matches_nn_multiheadattention():
    torch.manual_seed(0)
    ours = A.MultiHeadAttention(8, 2).double()
    theirs = nn.MultiheadAttention(8, 2, batch_first=True).double()
    assert set(ours.state_dict()) == set(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    x, memory = randn(3, 5, 8, seed=10, grad=True), randn(3, 6, 8, seed=11)
    mask = A.causal_mask(5)
    out, weights = ours(x, x, x, mask)
    expected, expected_weights = theirs(x, x, x, attn_mask=~mask)  # nn.MultiheadAttention: True = not allowed
    close(out, expected, "self-attention with a causal mask")
    close(weights, expected_weights, "weights averaged over heads")
    cross, _ = ours(x, memory, memory)
    close(cross, theirs(x, memory, memory)[0], "cross-attention (T_q != T_k)")
    tensors = [x, *ours.parameters()]
    reference = [x, *theirs.parameters()]
    for a, b in zip(torch.autograd.grad(out.pow(2).sum(), tensors), torch.autograd.grad(expected.pow(2).sum(), reference)):
        close(a, b, "gradient")
    with pytest.raises(ValueError, match="divisible"):
        A.MultiHeadAttention(10, 3)


def test_multi_head_attention_starts_as_nn_multiheadattention():
    """Both biases start at zero (nn.MultiheadAttention zeroes out_proj.bias as well as in_proj_bias)."""
    ours, theirs = A.MultiHeadAttention(12, 3), nn.MultiheadAttention(12, 3, batch_first=True)
    for name in ("in_proj_bias", "out_proj.bias"):
        assert torch.equal(ours.get_parameter(name), theirs.get_parameter(name)), name
        assert not ours.get_parameter(name).any(), name


def test_transformer_block_matches_pre_norm_encoder_layer():
    torch.manual_seed(1)
    ours = A.TransformerBlock(8, 2).double()
    theirs = nn.TransformerEncoderLayer(8, 2, 32, dropout=0.0, activation="gelu", batch_first=True, norm_first=True).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    x = randn(2, 5, 8, seed=12, grad=True)
    out, expected = ours(x, A.causal_mask(5)), theirs(x, src_mask=~A.causal_mask(5))
    close(out, expected, "pre-norm block with a causal mask", rtol=1e-9, atol=1e-10)
    for a, b in zip(torch.autograd.grad(out.sum(), [x, *ours.parameters()]), torch.autograd.grad(expected.sum(), [x, *theirs.parameters()])):
        close(a, b, "gradient", rtol=1e-8, atol=1e-10)


def test_sinusoidal_positions_formula():
    pe = A.sinusoidal_positions(50, 16)
    assert pe.shape == (50, 16) and pe.dtype == torch.float32
    assert torch.equal(pe[0, 0::2], torch.zeros(8)) and torch.equal(pe[0, 1::2], torch.ones(8))
    t, i = 7, 3
    assert pe[t, 2 * i].item() == pytest.approx(math.sin(t / 10_000 ** (2 * i / 16)), abs=1e-6)
    assert pe[t, 2 * i + 1].item() == pytest.approx(math.cos(t / 10_000 ** (2 * i / 16)), abs=1e-6)
    with pytest.raises(ValueError, match="even"):
        A.sinusoidal_positions(5, 7)


def test_rope_rotates_pairs_and_depends_on_relative_positions():
    x = randn(2, 6, 8, seed=13)
    rotated = A.apply_rope(x)
    as_complex = torch.view_as_complex(x.reshape(2, 6, 4, 2).contiguous())
    angles = torch.arange(6, dtype=torch.float64).unsqueeze(1) * 10_000 ** (-torch.arange(0, 8, 2, dtype=torch.float64) / 8)
    close(torch.view_as_real(as_complex * torch.polar(torch.ones_like(angles), angles)).reshape(2, 6, 8), rotated,
          "rotation as complex multiplication")
    close(rotated.norm(dim=-1), x.norm(dim=-1), "a rotation keeps the norm")
    close(A.apply_rope(x[:, :1]), x[:, :1], "position 0 is not rotated")
    q, k = randn(1, 8, seed=14), randn(1, 8, seed=15)
    scores = [(A.apply_rope(q, offset=m) * A.apply_rope(k, offset=m + 3)).sum().item() for m in (0, 5, 11)]
    assert scores[0] == pytest.approx(scores[1], abs=1e-12) and scores[0] == pytest.approx(scores[2], abs=1e-12)
    close(A.apply_rope(x)[:, 2:], A.apply_rope(x[:, 2:], offset=2), "offset continues the positions (key/value cache)")
    with pytest.raises(ValueError, match="even"):
        A.apply_rope(randn(1, 2, 3))


def test_patchify_matches_unfold():
    images = randn(2, 3, 8, 12, seed=16)
    patches = A.patchify(images, 4)
    assert patches.shape == (2, 6, 48)
    close(patches, F.unfold(images, 4, stride=4).transpose(1, 2), "patches")
    close(A.patchify(images, 4)[0, 1], images[0, :, 0:4, 4:8].reshape(-1), "the second patch is the top row's second")
    with pytest.raises(ValueError, match="does not split"):
        A.patchify(images, 5)


def test_lora_starts_equal_trains_only_a_and_b_and_merges():
    torch.manual_seed(2)
    base = nn.Linear(6, 4).double()
    before = {key: value.clone() for key, value in base.state_dict().items()}
    lora = A.LoRALinear(base, rank=2, alpha=4.0)
    x = randn(5, 6, seed=17)
    close(lora(x), base(x), "B = 0: starts equal to the base layer")
    assert [name for name, p in lora.named_parameters() if p.requires_grad] == ["A", "B"]
    assert sum(p.numel() for p in lora.parameters() if p.requires_grad) == 2 * 6 + 4 * 2
    optimizer = torch.optim.SGD([p for p in lora.parameters() if p.requires_grad], lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        lora(x).pow(2).sum().backward()
        optimizer.step()
    assert all(torch.equal(base.state_dict()[key], value) for key, value in before.items())
    assert lora.B.abs().sum() > 0
    merged = lora.merge()
    assert isinstance(merged, nn.Linear)
    close(merged(x), lora(x), "the merged layer computes the same", rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match="rank"):
        A.LoRALinear(base, rank=0)


def test_bpe_merge_step_left_to_right_without_overlaps():
    assert A.bpe_merge_step([1, 1, 1], (1, 1), 9) == [9, 1]
    assert A.bpe_merge_step([1, 2, 3, 1, 2], (1, 2), 7) == [7, 3, 7]
    assert A.bpe_merge_step([2, 1], (1, 2), 7) == [2, 1]
    assert A.bpe_merge_step([], (1, 2), 7) == [] and A.bpe_merge_step([1], (1, 2), 7) == [1]


@pytest.mark.parametrize("heads", [1, 2, 4])
def test_causal_self_attention_written_out_equals_the_fused_module_with_gradients(heads):
    torch.manual_seed(heads)
    module = A.CausalSelfAttention(8, heads).double()
    x = randn(3, 5, 8, seed=heads, grad=True)
    ours = A.causal_self_attention(x, module.qkv, module.proj, heads)
    close(ours, module(x)[0], "output")
    theirs_grads = torch.autograd.grad(module(x)[0].square().sum(), [x, module.qkv.weight])
    close(torch.autograd.grad(ours.square().sum(), [x, module.qkv.weight]), theirs_grads, "gradients")
    changed = x.detach().clone()
    changed[:, 3:] += 1.0  # only positions 3 and 4 change: positions 0..2 must not notice
    close(A.causal_self_attention(changed, module.qkv, module.proj, heads)[:, :3], ours[:, :3].detach(), "causality")
    with pytest.raises(ValueError, match="divisible"):
        A.causal_self_attention(randn(1, 2, 8), module.qkv, module.proj, 3)


def small_gpt(positions="learned", seed=0, **sizes):
    torch.manual_seed(seed)
    config = dict(vocab_size=23, dim=16, layers=2, heads=4, context=12) | sizes
    return A.GPT(positions=positions, **config).double().eval()


@pytest.mark.parametrize("positions", A.POSITIONS)
def test_gpt_cache_gives_the_logits_of_the_full_pass(positions):
    model = small_gpt(positions)
    ids = torch.randint(0, 23, (3, 12), generator=torch.Generator().manual_seed(1))
    full = model(ids)
    logits, cache = model.step(ids[:, :5])  # a prompt, then one token at a time, then two at once
    pieces = [logits]
    for t in range(5, 10):
        logits, cache = model.step(ids[:, t:t + 1], cache)
        pieces.append(logits)
    logits, cache = model.step(ids[:, 10:12], cache)
    pieces.append(logits)
    close(torch.cat(pieces, 1), full, f"{positions}: cached logits")
    assert cache[0][0].shape == (3, 4, 12, 4)  # (B, nh, T, hs) per layer
    with pytest.raises(ValueError, match="exceed the context"):
        model.step(ids[:, :1], cache)
    # causal: the logits at t do not depend on tokens after t
    changed = ids.clone()
    changed[:, 7:] = (changed[:, 7:] + 1) % 23
    close(model(changed)[:, :7], full[:, :7], f"{positions}: no look-ahead")


def test_gpt_without_positions_sees_order_only_through_the_causal_mask():
    """One layer without positions: position 2 attends to the *set* of tokens 0..2, blind to their
    order. With two layers the order leaks in: position 0's first-layer state saw only token 0."""
    ids = torch.tensor([[1, 2, 3, 4, 5, 6]])
    swapped = torch.tensor([[2, 1, 3, 4, 5, 6]])  # the same set of tokens up to position 2
    for positions in A.POSITIONS:
        for layers in (1, 2):
            model = small_gpt(positions, layers=layers)
            same = torch.allclose(model(ids)[:, 2:], model(swapped)[:, 2:], rtol=0, atol=1e-12)
            assert same == (positions == "none" and layers == 1), (positions, layers)


def test_gpt_equals_hugging_face_gpt2_with_copied_weights_and_generates_the_same_tokens():
    transformers = pytest.importorskip("transformers")
    model = small_gpt()
    config = transformers.GPT2Config(vocab_size=23, n_positions=12, n_embd=16, n_layer=2, n_head=4,
                                     activation_function="gelu", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                                     bos_token_id=0, eos_token_id=0, pad_token_id=0)
    hf = transformers.GPT2LMHeadModel(config).double().eval()
    assert not hf.load_state_dict(A.gpt2_state_dict(model), strict=True).missing_keys
    ids = torch.randint(0, 23, (2, 12), generator=torch.Generator().manual_seed(2))
    close(hf(ids).logits, model(ids), "GPT2LMHeadModel logits")
    ours = A.generate(model, ids[:, :4], 8)
    assert torch.equal(ours, hf.generate(ids[:, :4], max_new_tokens=8, do_sample=False))
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in hf.parameters())
    with pytest.raises(ValueError, match="learns its positions"):
        A.gpt2_state_dict(small_gpt("rope"))


def test_generate_with_and_without_cache_gives_the_same_tokens():
    model = small_gpt("rope")
    prompt = torch.tensor([[3, 4, 5], [6, 7, 8]])
    for temperature, top_k in ((0.0, None), (1.0, 5)):
        cached = A.generate(model, prompt, 9, True, temperature, top_k, torch.Generator().manual_seed(3))
        plain = A.generate(model, prompt, 9, False, temperature, top_k, torch.Generator().manual_seed(3))
        assert cached.shape == (2, 12) and cached.dtype == torch.int64
        assert torch.equal(cached, plain) and torch.equal(cached[:, :3], prompt)
    assert torch.equal(A.generate(model, prompt, 0), prompt)
    long = A.generate(model, prompt, 30)  # beyond the context of 12: the cache restarts, the text goes on
    assert long.shape == (2, 33) and torch.equal(long[:, :12], A.generate(model, prompt, 9, use_cache=False))
    assert A.generate(model, prompt, 30, use_cache=False).shape == (2, 33)
    with pytest.raises(ValueError, match="does not fit"):
        A.generate(model, torch.zeros(1, 13, dtype=torch.long), 1)


def test_gpt_gradients_reach_every_parameter_and_tied_head():
    model = small_gpt().train()
    ids = torch.randint(0, 23, (2, 12), generator=torch.Generator().manual_seed(4))
    F.cross_entropy(model(ids[:, :-1]).flatten(0, 1), ids[:, 1:].flatten()).backward()
    assert model.head.weight is model.token.weight
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_saved_tensor_bytes_sees_the_attention_matrix():
    q = randn(1, 2, 64, 8, grad=True)
    _, naive = A.saved_tensor_bytes(lambda x: A.scaled_dot_product_attention(x, x, x)[0], q)
    _, fused = A.saved_tensor_bytes(lambda x: F.scaled_dot_product_attention(x, x, x), q)
    assert naive >= 2 * 64 * 64 * 8  # at least one (2, 64, 64) float64 matrix of weights
    assert fused < naive / 4


def test_attention_benchmark_measures_the_naive_version_keeping_more():
    from dlcourse.bench.attention import cpu_rows

    (row,) = cpu_rows([64], repeats=1)
    assert set(row["seconds"]) == {"naive", "fused"} and all(s > 0 for s in row["seconds"].values())
    assert row["saved_bytes"]["naive"] > row["saved_bytes"]["fused"] > 0, row


def test_decoder_block_equals_nn_transformer_decoder_layer_with_gradients():
    ours = A.DecoderBlock(8, 2).double()
    theirs = nn.TransformerDecoderLayer(8, 2, 32, dropout=0.0, activation="gelu", batch_first=True, norm_first=True).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    x, memory = randn(2, 5, 8, seed=21, grad=True), randn(2, 7, 8, seed=22, grad=True)
    memory_mask = torch.rand(5, 7, generator=torch.Generator().manual_seed(23)) > 0.3
    memory_mask[:, 0] = True  # every query keeps at least one key
    out = ours(x, memory, A.causal_mask(5), memory_mask)
    expected = theirs(x, memory, tgt_mask=~A.causal_mask(5), memory_mask=~memory_mask)
    close(out, expected, "pre-norm decoder block, causal self-attention, masked cross-attention", rtol=1e-9, atol=1e-10)
    tensors = [x, memory]
    for a, b in zip(torch.autograd.grad(out.sum(), [*tensors, *ours.parameters()]),
                    torch.autograd.grad(expected.sum(), [*tensors, *theirs.parameters()])):
        close(a, b, "gradient", rtol=1e-8, atol=1e-10)
    assert ours.cross_weights.shape == (2, 5, 7)
    assert torch.all(ours.cross_weights[:, ~memory_mask] == 0), "a masked source position gets no weight"


def test_encoder_decoder_is_causal_in_the_target_and_sees_the_whole_source():
    torch.manual_seed(0)
    model = A.EncoderDecoder(11, 16, 2, 2, context=8).double().eval()
    assert model.head.weight is model.token.weight, "the output layer is tied to the embedding"
    source, target = torch.randint(0, 11, (3, 6)), torch.randint(0, 11, (3, 5))
    logits = model(source, target)
    assert logits.shape == (3, 5, 11)
    changed_target = target.clone()
    changed_target[:, 3] = (target[:, 3] + 1) % 11
    after = model(source, changed_target)
    close(after[:, :3], logits[:, :3], "target positions before the change")
    assert not torch.allclose(after[:, 3:], logits[:, 3:]), "positions from the change on must see it"
    changed_source = source.clone()
    changed_source[:, -1] = (source[:, -1] + 1) % 11
    moved = (model(changed_source, target) - logits).abs().amax(dim=-1)  # (B, T)
    assert torch.all(moved > 1e-6), "every target position attends to the whole source, its last token included"
    with pytest.raises(ValueError, match="context"):
        model(torch.zeros(1, 9, dtype=torch.long), target)
