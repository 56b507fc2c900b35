"""A minimal training loop that consumes warp_ir_dataset records directly, while they are generated.

A byte-level GRU language model learns Python -> CUDA (the ``python_to_cuda`` task, ``text`` style) from
a stream: kernels are synthesized, compiled and validated inside two DataLoader workers, tokenized as
bytes, batched and fed to a few optimizer steps. No weights are downloaded. Needs torch
(``pip install -e ".[train]"``).

    python examples/train_loop.py --steps 20 --batch-size 8
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

import warp_ir_dataset as wid


class ByteLM(nn.Module):
    def __init__(self, width: int = 128):
        super().__init__()
        self.embed = nn.Embedding(257, width)  # 256 byte values + padding
        self.rnn = nn.GRU(width, width, batch_first=True)
        self.head = nn.Linear(width, 257)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.rnn(self.embed(tokens))
        return self.head(hidden)


PAD = 256


def collate(rows: list[dict], seq_len: int) -> torch.Tensor:
    batch = torch.full((len(rows), seq_len), PAD, dtype=torch.long)
    for row_index, row in enumerate(rows):
        data = row["text"].encode("utf-8")[:seq_len]
        batch[row_index, : len(data)] = torch.tensor(list(data), dtype=torch.long)
    return batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=512)
    parser.add_argument("--num-workers", type=int, default=2, help="DataLoader worker processes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--complexity", default="1-3")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    stream = wid.load_dataset(
        count=None,  # endless: as many fresh kernels as the loop asks for
        seed=args.seed,
        split="train",
        streaming=True,
        task="python_to_cuda",
        style="text",
        complexity=args.complexity,
    )
    loader = torch.utils.data.DataLoader(
        stream,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        collate_fn=lambda rows: collate(rows, args.seq_len),
    )
    model = ByteLM()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD)

    start = time.perf_counter()
    first_batch_at = None
    records = tokens = 0
    for step, batch in enumerate(loader, start=1):
        if first_batch_at is None:
            first_batch_at = time.perf_counter() - start
        logits = model(batch[:, :-1])
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        records += batch.shape[0]
        tokens += int((batch != PAD).sum())
        print(f"step {step:3d}  loss {loss.item():.3f}")
        if step >= args.steps:
            break
    elapsed = time.perf_counter() - start
    print(
        f"{records} records, {tokens} tokens in {elapsed:.1f}s: {records / elapsed:.2f} records/s, "
        f"{tokens / elapsed:.0f} tokens/s (first batch after {first_batch_at:.1f}s)"
    )


if __name__ == "__main__":
    main()
