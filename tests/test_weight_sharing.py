"""k-means weight sharing and trained centroids ([DC] §3, Eq. 1 and Eq. 3)."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.data import MNISTData
from course_lib.models import LeNet300100, LeNet5, prunable_layers
from course_lib.weight_sharing import (
    INITS,
    CentroidSGD,
    Codebook,
    apply_codebooks,
    assign_to_centroids,
    centroid_gradient,
    centroid_gradient_autograd,
    codebook_for_layer,
    codebook_storage_bits,
    codebooks_from_model,
    distinct_nonzero_values,
    finetune_centroids,
    init_centroids,
    kmeans_codebook,
    quantize_model,
    sharing_compression_rate,
)


def _pruned_lenet300100(seed=0, keep=0.1):
    torch.manual_seed(seed)
    model = LeNet300100()
    with torch.no_grad():
        for layer in prunable_layers(model).values():
            w = layer.weight
            w.mul_(torch.rand_like(w) < keep)
    return model


def test_linear_init_is_evenly_spaced_between_min_and_max():
    v = torch.tensor([-1.0, 0.3, 0.5, 2.0])
    c = init_centroids(v, 4, "linear")
    assert torch.allclose(c, torch.tensor([-1.0, 0.0, 1.0, 2.0]))


def test_density_init_follows_the_cdf():
    v = torch.cat([torch.zeros(90) + torch.linspace(0, 0.01, 90), torch.linspace(1, 10, 10)])
    c = init_centroids(v, 5, "density")
    assert torch.all(c[1:] >= c[:-1])
    assert (c < 0.1).sum() >= 4, "most density centroids sit where most values are"
    lin = init_centroids(v, 5, "linear")
    assert (lin < 0.1).sum() == 1


def test_random_init_draws_values_and_is_seeded():
    v = torch.randn(1000)
    a = init_centroids(v, 8, "random", seed=1)
    b = init_centroids(v, 8, "random", seed=1)
    c = init_centroids(v, 8, "random", seed=2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert all(bool((v == x).any()) for x in a), "Forgy init picks k of the values themselves"


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("bits", [1, 2, 3, 5])
def test_kmeans_is_a_fixed_point_of_lloyd(init, bits):
    v = torch.randn(3000, dtype=torch.float64)
    c, a = kmeans_codebook(v, bits, init=init)
    assert c.shape == (2**bits,) and a.shape == v.shape and a.dtype == torch.long
    assert torch.all(c[1:] >= c[:-1])
    assert torch.equal(a, assign_to_centroids(v, c)), "every value sits in its nearest cluster"
    for k in torch.unique(a):
        assert torch.isclose(c[k], v[a == k].mean())


def test_kmeans_error_shrinks_with_bits():
    v = torch.randn(5000)
    errs = []
    for bits in (1, 2, 3, 4, 5):
        c, a = kmeans_codebook(v, bits)
        errs.append((c[a] - v).pow(2).mean().item())
    assert errs == sorted(errs, reverse=True)


def test_assign_matches_argmin():
    v = torch.randn(500)
    c = torch.sort(torch.randn(7)).values
    assert torch.equal(assign_to_centroids(v, c), (v[:, None] - c[None, :]).abs().argmin(1))


@pytest.mark.parametrize("init", INITS)
def test_fewer_distinct_values_than_clusters(init):
    v = torch.tensor([0.5, -0.25, 0.5, 0.5, 1.0, -0.25])
    c, a = kmeans_codebook(v, 4, init=init)  # 16 clusters, 3 distinct values
    assert c.shape == (16,)
    assert torch.equal(c[a], v), "each distinct value is its own centroid: no error"
    assert set(torch.unique(c).tolist()) == {-0.25, 0.5, 1.0}


def test_single_value_and_one_bit():
    c, a = kmeans_codebook(torch.full((10,), 0.3), 1)
    assert torch.allclose(c[a], torch.full((10,), 0.3))
    c, a = kmeans_codebook(torch.tensor([-2.0, -1.9, 3.0, 3.1]), 1)
    assert torch.allclose(c, torch.tensor([-1.95, 3.05]))


def test_clusters_ignore_pruned_zeros():
    w = torch.tensor([[0.0, 0.0, 0.0, 0.0, 1.0], [1.1, 0.0, 0.0, 2.0, 2.1]])
    cb = codebook_for_layer(w, 1)
    assert cb.kept == 4
    assert torch.allclose(cb.centroids, torch.tensor([1.05, 2.05]))
    assert torch.all(cb.weight()[w == 0] == 0)


def test_the_mask_decides_which_weights_are_kept():
    w = torch.tensor([[0.5, 0.0, -0.25], [0.75, 1.0, -0.5]])
    mask = torch.tensor([[True, True, True], [False, True, True]])
    cb = codebook_for_layer(w, 1, mask=mask)
    assert torch.equal(cb.mask, mask) and cb.kept == 5
    values = w[mask]  # the kept 0.0 is clustered, the pruned 0.75 is not
    assert torch.allclose(cb.centroids, kmeans_codebook(values, 1).centroids)
    assert cb.weight()[1, 0] == 0, "outside the mask the shared weight is 0, whatever the weight was"
    assert cb.weight()[0, 1] == cb.centroids[cb.index[0, 1]], "a kept weight at 0 gets a centroid"


def test_codebook_for_a_conv_weight():
    torch.manual_seed(0)
    w = torch.randn(4, 2, 3, 3) * (torch.rand(4, 2, 3, 3) < 0.5)
    cb = codebook_for_layer(w, 2)
    assert cb.index.shape == w.shape and torch.equal(cb.mask, w != 0)
    assert torch.all(cb.weight()[w == 0] == 0)
    assert distinct_nonzero_values(cb.weight()) <= 4


def test_quantize_model_keeps_zeros_and_at_most_k_values():
    model = _pruned_lenet300100()
    zeros = {n: (m.weight == 0).clone() for n, m in prunable_layers(model).items()}
    codebooks = quantize_model(model, {"fc1": 4, "fc2": 3, "fc3": 2})
    for name, layer in prunable_layers(model).items():
        assert torch.all(layer.weight[zeros[name]] == 0)
        assert distinct_nonzero_values(layer.weight) <= 2 ** {"fc1": 4, "fc2": 3, "fc3": 2}[name]
        assert torch.equal(layer.weight, codebooks[name].weight())


def test_quantize_model_lenet5_paper_bits():
    torch.manual_seed(0)
    model = LeNet5()
    bits = {"conv1": 8, "conv2": 8, "fc1": 5, "fc2": 5}
    quantize_model(model, bits)
    for name, layer in prunable_layers(model).items():
        assert distinct_nonzero_values(layer.weight) <= 2 ** bits[name]


def test_centroid_gradient_is_eq3_sum_over_cluster():
    index = torch.tensor([[0, 1, 2], [1, 1, 0]])
    mask = torch.tensor([[True, True, True], [True, False, True]])
    cb = Codebook(torch.tensor([-1.0, 0.5, 2.0]), index, mask)
    grad = torch.tensor([[1.0, 2.0, 3.0], [4.0, 100.0, 6.0]])
    # cluster 0: 1 + 6; cluster 1: 2 + 4 (the pruned 100 is in no cluster); cluster 2: 3.
    assert torch.equal(centroid_gradient(grad, cb), torch.tensor([7.0, 6.0, 3.0]))


def test_autograd_through_shared_weights_is_eq3():
    """Autograd through W = C[I] * mask gives [DC] Eq. 3, on every layer of both LeNets."""
    for model_class, bits in ((LeNet300100, {"fc1": 2, "fc2": 3, "fc3": 4}),
                              (LeNet5, {"conv1": 3, "conv2": 3, "fc1": 2, "fc2": 4})):
        torch.manual_seed(0)
        model = model_class()
        with torch.no_grad():
            for layer in prunable_layers(model).values():
                layer.weight.mul_(torch.rand_like(layer.weight) < 0.4)
        codebooks = quantize_model(model, bits)
        x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
        model.zero_grad()
        F.cross_entropy(model(x), y).backward()
        grads = {n: m.weight.grad.clone() for n, m in prunable_layers(model).items()}
        model.zero_grad()
        state = {k: v.clone() for k, v in model.state_dict().items()}
        for name, cb in codebooks.items():
            before = cb.clone()
            auto = centroid_gradient_autograd(model, name, cb, x, y)
            assert auto.shape == (cb.k,) and not auto.requires_grad
            assert torch.allclose(auto, centroid_gradient(grads[name], cb), atol=1e-6, rtol=1e-4), name
            assert torch.equal(cb.centroids, before.centroids) and not cb.centroids.requires_grad
        assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items()), "the model is unchanged"
        assert all(p.grad is None for p in model.parameters()), "no .grad left behind"


def test_autograd_gradient_bad_input():
    model = _pruned_lenet300100()
    codebooks = quantize_model(model, 2)
    x, y = torch.randn(2, 1, 28, 28), torch.tensor([1, 2])
    with pytest.raises(ValueError, match="No layer named"):
        centroid_gradient_autograd(model, "conv1", codebooks["fc1"], x, y)
    with pytest.raises(ValueError, match="differs from the weight"):
        centroid_gradient_autograd(model, "fc2", codebooks["fc1"], x, y)


def test_centroid_sgd_step_moves_centroids_by_summed_gradient():
    model = _pruned_lenet300100()
    codebooks = quantize_model(model, 2)
    before = {n: cb.centroids.clone() for n, cb in codebooks.items()}
    model.zero_grad()
    x = torch.randn(16, 1, 28, 28)
    torch.nn.functional.cross_entropy(model(x), torch.randint(0, 10, (16,))).backward()
    grads = {n: centroid_gradient(m.weight.grad, codebooks[n]) for n, m in prunable_layers(model).items()}
    opt = CentroidSGD(model, codebooks, lr=0.1, momentum=0.0)
    opt.step()
    for name, cb in codebooks.items():
        assert torch.allclose(cb.centroids, before[name] - 0.1 * grads[name], atol=1e-6)
        assert torch.equal(prunable_layers(model)[name].weight, cb.weight())


def test_finetune_keeps_sharing_and_zeros_and_learns():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(512, 1, 28, 28, generator=gen)
    y = (x.view(512, -1)[:, :10].argmax(1))
    data = (x, y, x[:256], y[:256])
    model = _pruned_lenet300100(keep=0.3)
    zeros = {n: (m.weight == 0).clone() for n, m in prunable_layers(model).items()}
    bits = {"fc1": 3, "fc2": 3, "fc3": 3}
    codebooks = quantize_model(model, bits)
    start = {n: cb.centroids.clone() for n, cb in codebooks.items()}
    index = {n: cb.index.clone() for n, cb in codebooks.items()}

    def loss():
        with torch.no_grad():
            return torch.nn.functional.cross_entropy(model(x), y).item()

    loss_before = loss()
    finetune_centroids(model, codebooks, MNISTData(*data), epochs=3, lr=0.01, progress=False,
                       evaluate_every_epoch=False)
    assert loss() < loss_before
    for name, layer in prunable_layers(model).items():
        w = layer.weight
        assert torch.all(w[zeros[name]] == 0), "pruned weights stay zero"
        assert distinct_nonzero_values(w) <= 2 ** bits[name], "shared weights stay shared"
        assert not torch.equal(codebooks[name].centroids, start[name]), "centroids must be trained"
        assert torch.equal(codebooks[name].index, index[name]), "indices never change"


def test_codebooks_from_model_round_trip():
    model = _pruned_lenet300100()
    codebooks = quantize_model(model, 3)
    weights = {n: m.weight.clone() for n, m in prunable_layers(model).items()}
    again = codebooks_from_model(model, 3)
    for name, cb in again.items():
        assert cb.k == 8 and torch.equal(cb.weight(), weights[name])
    fresh = _pruned_lenet300100()
    with pytest.raises(ValueError, match="not weight-shared"):
        codebooks_from_model(fresh, 3)
    apply_codebooks(fresh, again)
    assert all(torch.equal(m.weight, weights[n]) for n, m in prunable_layers(fresh).items())


def test_eq1_compression_rate_and_storage_bits():
    assert sharing_compression_rate(16, 4, 32) == pytest.approx(3.2)  # [DC] Fig. 3
    cb = Codebook(torch.zeros(4), torch.zeros(4, 4, dtype=torch.long), torch.ones(4, 4, dtype=torch.bool))
    assert codebook_storage_bits(cb) == 16 * 2 + 4 * 32
    with pytest.raises(ValueError):
        sharing_compression_rate(0, 4)


@pytest.mark.parametrize("bits", [0, 17, -3])
def test_bits_out_of_range(bits):
    with pytest.raises(ValueError, match="between 1 and 16"):
        kmeans_codebook(torch.randn(10), bits)
    with pytest.raises(ValueError, match="between 1 and 16"):
        quantize_model(LeNet300100(), bits)


def test_bad_input():
    with pytest.raises(ValueError, match="empty"):
        kmeans_codebook(torch.empty(0), 4)
    with pytest.raises(TypeError, match="floating"):
        kmeans_codebook(torch.arange(10), 4)
    with pytest.raises(ValueError, match="init must be one of"):
        kmeans_codebook(torch.randn(10), 4, init="kmeans++")
    with pytest.raises(ValueError, match="NaN"):
        kmeans_codebook(torch.tensor([1.0, float("inf")]), 2)
    with pytest.raises(ValueError, match="pruned"):
        codebook_for_layer(torch.zeros(3, 3), 2)
    with pytest.raises(ValueError, match="No layer named"):
        quantize_model(LeNet300100(), {"conv1": 4})
    with pytest.raises(TypeError, match="bits must be an int"):
        kmeans_codebook(torch.randn(10), 2.0)
