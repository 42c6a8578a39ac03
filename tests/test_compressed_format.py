"""The ``.dcz`` file ([DC] §2-§4): exact round trips, and bad files always raise clearly."""

import ast
import hashlib
import os
import pkgutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_lib import compressed_format as cf
from course_lib.compressed_format import (
    CompressedFileError,
    decode_compressed,
    describe,
    encode_model,
    load_compressed,
    read_compressed,
    save_compressed,
)
from course_lib.models import build_model, count_parameters, prunable_layers
from course_lib.paths import ARTIFACTS_DIR
from course_lib.train import evaluate

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def shared_model(name="lenet300100", keep=0.08, k=16, seed=0, conv_keep=None):
    """A pruned, weight-shared model: keep the largest ``keep`` of each layer, then ``k`` shared values."""
    torch.manual_seed(seed)
    model = build_model(name)
    with torch.no_grad():
        for lname, layer in prunable_layers(model).items():
            w = layer.weight
            frac = conv_keep if (conv_keep is not None and lname.startswith("conv")) else keep
            n_keep = max(1, int(round(frac * w.numel())))
            thr = w.abs().flatten().kthvalue(w.numel() - n_keep + 1).values if n_keep < w.numel() else -1.0
            centroids = torch.linspace(float(w.min()), float(w.max()), k)
            nearest = centroids[(w.unsqueeze(-1) - centroids).abs().argmin(-1)]
            w.copy_(torch.where(w.abs() >= thr, nearest, torch.zeros_like(w)))
    return model


def assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key].cpu(), sb[key].cpu()), key


@pytest.fixture(scope="module")
def good_blob():
    """A small valid file: LeNet-300-100 at 1% kept (decoding it takes milliseconds)."""
    blob, _ = encode_model(shared_model(keep=0.01, k=8, seed=3))
    return blob


def _with_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", ["lenet300100", "lenet5"])
def test_round_trip_is_bit_exact_and_size_is_the_files(tmp_path, name):
    model = shared_model(name, keep=0.08, k=32, conv_keep=0.5)
    path = tmp_path / f"{name}.dcz"
    report = save_compressed(model, path)
    assert report.file_bytes == os.path.getsize(path)
    assert report.float32_bytes == 4 * count_parameters(model)
    assert report.ratio == pytest.approx(report.float32_bytes / os.path.getsize(path))
    assert not list(tmp_path.glob("*.tmp")), "the temporary file must be renamed away"
    loaded = load_compressed(path, device="cpu")
    assert not loaded.training
    assert_same_state(model, loaded)
    # the reader's accounting is the writer's
    again = read_compressed(path).report
    assert again.as_dict() == report.as_dict()
    assert sum(report.totals().values()) == report.file_bytes
    text = describe(report)
    assert f"{report.file_bytes:,} bytes" in text and "fc1" in text


@given(
    keep=st.floats(0.0, 1.0),
    k=st.integers(1, 256),
    seed=st.integers(0, 2**16),
    index_bits=st.sampled_from([None, 1, 2, 5, 8]),
    value_dtype=st.sampled_from(["auto", "float32"]),
)
@settings(max_examples=25, deadline=None)
def test_round_trip_fuzzed(keep, k, seed, index_bits, value_dtype):
    """Any keep rate (0 = empty layers, 1 = dense), any codebook size, any index bits."""
    model = shared_model("lenet300100", keep=keep, k=k, seed=seed)
    blob, report = encode_model(model, index_bits=index_bits, value_dtype=value_dtype)
    assert len(blob) == report.file_bytes
    decoded = decode_compressed(blob)
    assert decoded.model == "lenet300100"
    for key, value in model.state_dict().items():
        assert torch.equal(value, decoded.state_dict[key]), key
    if index_bits is not None:
        assert all(l.index_bits == index_bits for l in report.layers)


def test_float16_only_when_exact():
    model = shared_model(k=8)
    _, auto = encode_model(model)
    assert {l.bias_dtype for l in auto.layers} == {"float32"}  # random biases do not survive float16
    with torch.no_grad():
        for layer in prunable_layers(model).values():
            layer.bias.copy_(layer.bias.half().float())
            layer.weight.copy_(layer.weight.half().float())
    blob, half = encode_model(model)
    assert {l.bias_dtype for l in half.layers} == {"float16"}
    assert {l.codebook_dtype for l in half.layers} == {"float16"}
    assert half.file_bytes < auto.file_bytes
    assert_same_state(model, _model_of(decode_compressed(blob)))
    with pytest.raises(ValueError, match="float16"):
        encode_model(shared_model(k=8), value_dtype="float16")


def _model_of(decoded):
    model = build_model(decoded.model)
    model.load_state_dict(decoded.state_dict)
    return model


def test_error_after_round_trip_equals_error_before(tmp_path, mnist):
    from course_lib.committed_models import load_baseline
    from course_lib.weight_sharing import quantize_model

    model = load_baseline("lenet300100", device=mnist.test_x.device)
    with torch.no_grad():
        for layer in prunable_layers(model).values():
            w = layer.weight
            w.mul_(w.abs() > w.abs().flatten().kthvalue(int(0.9 * w.numel())).values)
    codebooks = quantize_model(model, 5)
    before = evaluate(model, mnist)
    save_compressed(model, tmp_path / "m.dcz", codebooks=codebooks)
    after = evaluate(load_compressed(tmp_path / "m.dcz", device=mnist.test_x.device), mnist)
    print(f"test error {before:.2f}% before saving, {after:.2f}% after reading back")
    assert after == before


def test_codebook_sets_nominal_bits_and_is_checked():
    from course_lib.weight_sharing import quantize_model

    model = shared_model(k=200)  # start from a shared model, then re-share at 3 bits
    codebooks = quantize_model(model, 3)
    _, report = encode_model(model, codebooks=codebooks)
    assert {l.weight_bits for l in report.layers} == {3}
    other = quantize_model(shared_model(k=200, seed=1), 3)
    with pytest.raises(ValueError, match="apply_codebooks"):
        encode_model(model, codebooks=other)


# --------------------------------------------------------------------------- what the writer refuses


def test_refuses_a_model_that_is_not_weight_shared():
    with pytest.raises(ValueError, match="at most 256.*weight_sharing"):
        encode_model(build_model("lenet300100"))


def test_refuses_non_finite_weights_and_bad_options():
    model = shared_model(k=4)
    with torch.no_grad():
        model.fc3.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        encode_model(model)
    with pytest.raises(ValueError, match="index_bits"):
        encode_model(shared_model(k=4), index_bits=9)
    with pytest.raises(ValueError, match="value_dtype"):
        encode_model(shared_model(k=4), value_dtype="int8")
    with pytest.raises(TypeError, match="index_bits"):
        encode_model(shared_model(k=4), index_bits="5")
    with pytest.raises(ValueError, match="more than 2 bits"):
        encode_model(shared_model(keep=1.0, k=16), bits=2)


# --------------------------------------------------------------------------- bad files


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="reproduce"):
        load_compressed(tmp_path / "nope.dcz")


@pytest.mark.parametrize(
    "content",
    [b"", b"\x89", b"PK\x03\x04" + bytes(100), b"\x89PNG\r\n\x1a\n" + bytes(50), b"hello world, not a model at all"],
)
def test_foreign_files_are_named_foreign(tmp_path, content):
    path = tmp_path / "x.dcz"
    path.write_bytes(content)
    with pytest.raises(CompressedFileError) as info:
        load_compressed(path)
    msg = str(info.value)
    assert str(path) in msg
    assert ("not a Deep Compression" in msg) or ("truncated" in msg)


def test_a_torch_checkpoint_is_foreign(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(build_model("lenet300100").state_dict(), path)
    with pytest.raises(CompressedFileError, match="not a Deep Compression"):
        load_compressed(path)


def test_other_version_is_refused(good_blob):
    bad = bytearray(good_blob[:-4])
    bad[4] = 2
    with pytest.raises(CompressedFileError, match="version 2 is not supported"):
        decode_compressed(_with_crc(bytes(bad)))


def test_messages_say_what_to_do(good_blob):
    with pytest.raises(CompressedFileError) as info:
        decode_compressed(good_blob[:-10], "m.dcz")
    assert "truncated" in str(info.value) and "reproduce" in str(info.value)
    flipped = bytearray(good_blob)
    flipped[40] ^= 1
    with pytest.raises(CompressedFileError, match="corrupted.*CRC32"):
        decode_compressed(bytes(flipped))
    with pytest.raises(CompressedFileError, match="longer than"):
        decode_compressed(good_blob + b"\0")


@given(data=st.data())
@FUZZ
def test_every_truncation_raises(good_blob, data):
    cut = data.draw(st.integers(0, len(good_blob) - 1))
    with pytest.raises(CompressedFileError, match="truncated|not a Deep Compression"):
        decode_compressed(good_blob[:cut])


@given(data=st.data())
@FUZZ
def test_every_corruption_raises(good_blob, data):
    """Flip bits anywhere, overwrite or insert bytes: the reader notices, always."""
    bad = bytearray(good_blob)
    kind = data.draw(st.sampled_from(["flip", "overwrite", "insert", "delete"]))
    pos = data.draw(st.integers(0, len(bad) - 1))
    if kind == "flip":
        bad[pos] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "overwrite":
        new = data.draw(st.binary(min_size=1, max_size=16))
        for i, b in enumerate(new[: len(bad) - pos]):
            bad[pos + i] = b
    elif kind == "insert":
        bad[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
    else:
        del bad[pos : pos + data.draw(st.integers(1, 16))]
    if bytes(bad) == good_blob:
        return
    with pytest.raises(CompressedFileError):
        decode_compressed(bytes(bad))


@given(data=st.data())
@FUZZ
def test_corruption_behind_a_valid_checksum_raises_only_compressed_file_errors(good_blob, data):
    """Even when the CRC32 is recomputed (deliberate tampering), the reader's own checks
    raise CompressedFileError and nothing else; a file that still decodes has the model's shapes."""
    bad = bytearray(good_blob[:-4])
    for _ in range(data.draw(st.integers(1, 3))):
        pos = data.draw(st.integers(0, len(bad) - 1))
        bad[pos] = data.draw(st.integers(0, 255))
    try:
        decoded = decode_compressed(_with_crc(bytes(bad)))
    except CompressedFileError:
        return
    model = _model_of(decoded)  # shapes and keys are right, or this raises
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("header_len", 5, "truncated|longer"),
        ("model", b"lenet9", "unknown model"),
    ],
)
def test_inconsistent_headers(good_blob, field, value, message):
    pre = bytearray(good_blob[: cf.PREAMBLE.size])
    rest = bytearray(good_blob[cf.PREAMBLE.size : -4])
    if field == "header_len":
        magic, version, header_len, body_len = cf.PREAMBLE.unpack(bytes(pre))
        pre = bytearray(cf.PREAMBLE.pack(magic, version, header_len + value, body_len))
    else:
        n = rest[0]
        old = bytes(rest[1 : 1 + n])
        assert old == b"lenet300100"
        rest[1 : 1 + n] = value
        rest[0] = len(value)
        magic, version, header_len, body_len = cf.PREAMBLE.unpack(bytes(pre))
        pre = bytearray(cf.PREAMBLE.pack(magic, version, header_len + len(value) - n, body_len))
    with pytest.raises(CompressedFileError, match=message):
        decode_compressed(_with_crc(bytes(pre + rest)))


def test_tampered_codebook_is_caught(good_blob):
    """Swap two centroids of fc1 (and fix the CRC): the codebook is no longer increasing."""
    decoded = decode_compressed(good_blob)
    header_len = cf.PREAMBLE.unpack_from(good_blob)[2]
    body_start = cf.PREAMBLE.size + header_len
    fc1 = decoded.report.layers[0]
    size = 4 if fc1.codebook_dtype == "float32" else 2
    assert fc1.centroids >= 2
    bad = bytearray(good_blob[:-4])
    a, b = bad[body_start : body_start + size], bad[body_start + size : body_start + 2 * size]
    bad[body_start : body_start + 2 * size] = b + a
    with pytest.raises(CompressedFileError, match="codebook"):
        decode_compressed(_with_crc(bytes(bad)))


# --------------------------------------------------------------------------- the bytes do not move


def _kmeans_model():
    """LeNet-300-100, seeded, 5% of each layer kept by magnitude, then 4-bit k-means ([DC] §2-§3)."""
    from course_lib.weight_sharing import quantize_model

    torch.manual_seed(0)
    model = build_model("lenet300100")
    with torch.no_grad():
        for layer in prunable_layers(model).values():
            w = layer.weight
            w.mul_(w.abs() > w.abs().flatten().kthvalue(int(0.95 * w.numel())).values)
    return model, quantize_model(model, 4)


# SHA-256 of files written by the format as first released; a change means the writer changed.
FIXED_FILES = {
    "kmeans": (13350, "7204d1707425c8fc7de8f9a5050ac120219deefe17bd9969d4ce9272a0937067"),
    "grid": (28185, "e8c3986d505b5621570bdfbc2bc37da20a60b5f37ffc21cb96f21d646392d30d"),
}


@pytest.mark.parametrize("kind", sorted(FIXED_FILES))
def test_written_bytes_are_the_recorded_ones(tmp_path, kind):
    """``kmeans`` also depends on weight_sharing.quantize_model; ``grid`` only on the writer."""
    if kind == "kmeans":
        model, codebooks = _kmeans_model()
    else:
        model, codebooks = shared_model("lenet5", keep=0.05, k=16, seed=7, conv_keep=0.5), None
    save_compressed(model, tmp_path / "m.dcz", codebooks=codebooks)
    data = (tmp_path / "m.dcz").read_bytes()
    assert (len(data), hashlib.sha256(data).hexdigest()) == FIXED_FILES[kind]


@pytest.mark.parametrize("name", ["lenet300100", "lenet5"])
def test_committed_file_is_rewritten_byte_for_byte(tmp_path, name):
    """Read a committed file, save its model again as the reproduce pipeline does: same bytes."""
    from course_lib.weight_sharing import codebooks_from_model

    committed = ARTIFACTS_DIR / "compressed" / f"{name}.dcz"
    report = read_compressed(committed).report
    model = load_compressed(committed, device="cpu")
    codebooks = codebooks_from_model(model, {l.name: l.weight_bits for l in report.layers})
    again = save_compressed(model, tmp_path / f"{name}.dcz", codebooks=codebooks, index_bits=None)
    assert (tmp_path / f"{name}.dcz").read_bytes() == committed.read_bytes()
    assert again.as_dict() == report.as_dict()
    assert describe(again) == describe(report)


# --------------------------------------------------------------------------- the code stays readable


def _package_sources():
    """``{module: source}`` for every module of the package, ``__init__`` included."""
    names = ["__init__"] + sorted(m.name for m in pkgutil.iter_modules(cf.__path__))
    assert {"layout", "reader", "writer", "report"} <= set(names)
    package_dir = Path(cf.__file__).parent
    return {name: (package_dir / f"{name}.py").read_text() for name in names}


def test_no_function_takes_more_than_six_parameters():
    """Pass a small record (dataclass) instead of a long argument list; ``self``/``cls`` not counted."""
    too_many = []
    for module, source in _package_sources().items():
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            a = node.args
            params = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg] if p is not None]
            params = [p for p in params if p not in ("self", "cls")]
            if len(params) > 6:
                too_many.append(f"{module}.py:{node.lineno} {getattr(node, 'name', 'lambda')}({', '.join(params)})")
    assert not too_many, "functions with more than 6 parameters: " + "; ".join(too_many)


def test_modules_stay_short():
    long = {m: n for m, s in _package_sources().items() if (n := len(s.splitlines())) > 300}
    assert not long, f"modules above 300 lines: {long}"


def test_public_api_is_importable_from_the_package():
    for name in cf.__all__:
        assert getattr(cf, name) is not None, name
    assert cf.__all__ and set(cf.__all__) >= {
        "CompressedFileError", "CompressedModel", "CompressedReport", "LayerReport", "LayerRecord", "decode_compressed",
        "describe", "encode_layer", "encode_model", "load_compressed", "read_compressed", "save_compressed", "main",
        "MAGIC", "VERSION", "PREAMBLE", "CHECKSUM", "LAYER_FIXED", "pack_uints", "unpack_uints", "FIX_HINT",
    }
