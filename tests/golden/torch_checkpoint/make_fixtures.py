#!/usr/bin/env python3
"""Writes the PyTorch checkpoint fixtures read by tests/unit/test_torch_checkpoint.cpp.

Run with a throwaway venv that has torch, transformers and safetensors:
    python tests/golden/torch_checkpoint/make_fixtures.py
The outputs (a few KB each) are committed; the build and the tests never need Python.

  tensors.bin           float32 of several shapes (0-d, empty, 1-3 d), float16, bfloat16, float64, int64, int32,
                        uint16 (saved via _rebuild_tensor_v3 + UntypedStorage), an nn.Parameter, and two tensors
                        sharing one storage (the second a view with storage_offset 3)
  expected.json         for every tensor of tensors.bin: dtype name, shape, storage offset, values
  zip64.bin             the entries of tensors.bin re-packed with ZIP64 records everywhere
  bert_tiny.bin         torch.save(BertModel(tiny config).state_dict()), and bert_tiny.safetensors, the same tensors
  nested.bin            {"epoch", "lr", "name", "tags", "state_dict": {...}, "optimizer": {...}}
  nested_expected.json  the tensors of nested.bin's state_dict
  transposed.bin        {"weight": a transposed (non-contiguous) tensor}: must be refused
  deflated.bin          tensors.bin with every entry re-compressed (ZIP_DEFLATED): must be refused
  legacy.bin            the pre-1.6 non-zip format (_use_new_zipfile_serialization=False): must be refused
"""
import collections
import json
import os
import struct
import zipfile
import zlib

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertModel

HERE = os.path.dirname(os.path.abspath(__file__))


def out(name):
    return os.path.join(HERE, name)


def expected_entry(t, dtype_name):
    values = t.flatten().tolist() if t.dtype in (torch.int64, torch.int32, torch.uint16) else \
        t.float().flatten().tolist()
    return {"dtype": dtype_name, "shape": list(t.shape), "storage_offset": t.storage_offset(), "values": values}


def tensors_fixture():
    g = torch.Generator().manual_seed(7)
    base = torch.randn(2, 3, generator=g)
    sd = collections.OrderedDict()
    sd["scalar"] = torch.tensor(1.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["vector"] = torch.randn(5, generator=g)
    sd["matrix"] = torch.randn(3, 4, generator=g)
    sd["cube"] = torch.randn(2, 3, 4, generator=g)
    sd["half"] = torch.tensor([0.5, -1.25, 3.0, 65504.0, 6e-5], dtype=torch.float16)
    sd["bf16"] = torch.tensor([[1.0, -2.5, 0.15625], [100.0, 1e-3, -7.0]], dtype=torch.bfloat16)
    sd["double"] = torch.tensor([0.1, -2.0, 1e10], dtype=torch.float64)
    sd["shared.full"] = base
    sd["shared.row1"] = base[1]  # a view into the same storage, storage_offset 3
    sd["position_ids"] = torch.arange(8).unsqueeze(0)  # int64 buffer, as older BERT checkpoints carry
    sd["token_type"] = torch.tensor([[0, 1, -7]], dtype=torch.int32)
    sd["uint16"] = torch.tensor([1, 2, 65535], dtype=torch.uint16)  # written with _rebuild_tensor_v3
    sd["param"] = torch.nn.Parameter(torch.randn(2, 2, generator=g))  # written with _rebuild_parameter
    torch.save(sd, out("tensors.bin"))

    names = {torch.float32: "FloatStorage", torch.float16: "HalfStorage", torch.bfloat16: "BFloat16Storage",
             torch.float64: "DoubleStorage", torch.int64: "LongStorage", torch.int32: "IntStorage",
             torch.uint16: "uint16"}
    expected = {k: expected_entry(v.detach(), names[v.dtype]) for k, v in sd.items()}
    with open(out("expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    return sd


def write_zip64(path, entries):
    """A STORED zip with ZIP64 extra fields in every header and a ZIP64 end record, data aligned to 64 bytes."""
    body, central = bytearray(), bytearray()
    dos_date = (1 << 5) | 1  # 1980-01-01
    for name, data in entries:
        nb = name.encode()
        offset = len(body)
        crc = zlib.crc32(data)
        z64_local = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        pad = (-(offset + 30 + len(nb) + len(z64_local) + 4)) % 64
        extra = z64_local + struct.pack("<HH", 0x4246, pad) + b"Z" * pad
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, dos_date, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                            len(nb), len(extra)) + nb + extra
        assert len(body) % 64 == 0
        body += data
        z64_central = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, dos_date, crc, 0xFFFFFFFF,
                               0xFFFFFFFF, len(nb), len(z64_central), 0, 0, 0, 0, 0xFFFFFFFF) + nb + z64_central
    cd_offset = len(body)
    body += central
    z64_end = len(body)
    n = len(entries)
    body += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(central), cd_offset)
    body += struct.pack("<IIQI", 0x07064B50, 0, z64_end, 1)
    body += struct.pack("<IHHHHIIH", 0x06054B50, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(path, "wb") as f:
        f.write(body)


def repack(src, dst, compression):
    with zipfile.ZipFile(src) as zin:
        entries = [(info.filename, zin.read(info.filename)) for info in zin.infolist()]
    if compression is None:
        write_zip64(dst, entries)
        return
    with zipfile.ZipFile(dst, "w", compression=compression) as zout:
        for name, data in entries:
            zout.writestr(name, data)


def bert_fixture():
    torch.manual_seed(11)
    config = BertConfig(vocab_size=32, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=16, type_vocab_size=2)
    model = BertModel(config).eval()
    sd = model.state_dict()
    torch.save(sd, out("bert_tiny.bin"))
    save_file({k: v.contiguous() for k, v in sd.items()}, out("bert_tiny.safetensors"))


def nested_fixture():
    g = torch.Generator().manual_seed(3)
    inner = collections.OrderedDict()
    inner["encoder.weight"] = torch.randn(4, 3, generator=g)
    inner["encoder.bias"] = torch.randn(4, generator=g)
    ckpt = {"epoch": 3, "lr": 1e-3, "name": "tiny", "tags": ["a", "b", None, True], "big": 2**70, "neg": -5,
            "state_dict": inner,
            "optimizer": {"state": {0: {"step": torch.tensor(1.0)}}, "param_groups": [{"lr": 0.1, "params": [0]}]}}
    torch.save(ckpt, out("nested.bin"))
    with open(out("nested_expected.json"), "w") as f:
        json.dump({k: expected_entry(v, "FloatStorage") for k, v in inner.items()}, f, indent=1)
        f.write("\n")


def main():
    sd = tensors_fixture()
    repack(out("tensors.bin"), out("zip64.bin"), None)
    repack(out("tensors.bin"), out("deflated.bin"), zipfile.ZIP_DEFLATED)
    bert_fixture()
    nested_fixture()
    torch.save({"weight": torch.arange(12, dtype=torch.float32).reshape(3, 4).t()}, out("transposed.bin"))
    torch.save({"vector": sd["vector"]}, out("legacy.bin"), _use_new_zipfile_serialization=False)
    # The re-packed archives must still be valid zips (and loadable by torch, for the ZIP64 one).
    loaded = torch.load(out("zip64.bin"), weights_only=True)
    assert all(torch.equal(loaded[k], sd[k]) for k in sd)
    with zipfile.ZipFile(out("deflated.bin")) as z:
        assert z.testzip() is None


if __name__ == "__main__":
    main()
