"""Times training steps of TandemNet in PyTorch on the CPU, for comparison with tandem's tfjs backends.

The model follows src/model: a WRN16-4 backbone (7x7 stride-4 stem with 16 channels, pre-activation
blocks of 64, 128 and 256 channels at strides 1, 2, 2, dropout 0.3, final BN-ReLU), an LSTM language
model (K = 128, D = 256, dropout 0.4) whose sentence vectors are the hidden states at each sentence's
end-of-sentence token, the joint dual attention (M = 256, dropout 0.5) and a linear classifier on
c + mean(V'). A step is the forward pass with text, the backward pass, clipping the attention gradient
at norm 0.1, SGD with momentum for the CNN and Adam for the rest, as tandem's trainer does.

With --gemm it times float32 matrix products instead, the reference rate of BENCHMARKS.md.

Prints one JSON object: the duration of every timed step in ms, the peak resident memory in bytes and the
torch version and thread count. Run by scripts/bench/run.ts; see BENCHMARKS.md for the setup.
"""

import argparse
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class WideBlock(nn.Module):
    """BN-ReLU-conv3x3(stride)-BN-ReLU-dropout-conv3x3, plus an identity or 1x1 strided shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, drop_rate: float):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        needs_projection = in_channels != out_channels or stride != 1
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride, 0, bias=False) if needs_projection else None
        self.drop_rate = drop_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activated = F.relu(self.norm1(x))
        y = self.conv1(activated)
        y = F.relu(self.norm2(y))
        y = F.dropout(y, self.drop_rate, self.training)
        y = self.conv2(y)
        # As in tandem, a projection shortcut reads the pre-activated input.
        residual = self.shortcut(activated) if self.shortcut is not None else x
        return y + residual


class WideResNet(nn.Module):
    def __init__(self, depth: int = 16, widen_factor: int = 4, drop_rate: float = 0.3):
        super().__init__()
        blocks_per_stage = (depth - 4) // 6
        self.stem = nn.Conv2d(3, 16, 7, 4, 3, bias=False)
        blocks = []
        in_channels = 16
        for stage, width in enumerate([16 * widen_factor, 32 * widen_factor, 64 * widen_factor]):
            for block in range(blocks_per_stage):
                stride = 2 if block == 0 and stage > 0 else 1
                blocks.append(WideBlock(in_channels, width, stride, drop_rate))
                in_channels = width
        self.blocks = nn.Sequential(*blocks)
        self.final_norm = nn.BatchNorm2d(in_channels)
        self.channels = in_channels

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return F.relu(self.final_norm(self.blocks(self.stem(images))))


class TextEncoder(nn.Module):
    def __init__(self, vocabulary_size: int, embedding_size: int = 128, hidden_size: int = 256, drop_rate: float = 0.4):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary_size, embedding_size)
        self.lstm = nn.LSTM(embedding_size, hidden_size, batch_first=True)
        self.drop_rate = drop_rate

    def forward(self, tokens: torch.Tensor, ends: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """tokens: B x T word ids; ends: B x N end-of-sentence steps; mask: B x N. Returns S: B x N x D."""
        words = F.dropout(self.embedding(tokens), self.drop_rate, self.training)
        hidden, _ = self.lstm(words)
        index = ends.unsqueeze(2).expand(-1, -1, hidden.shape[2])
        sentences = torch.gather(hidden, 1, index) * mask.unsqueeze(2)
        return F.dropout(sentences, self.drop_rate, self.training)


class DualAttention(nn.Module):
    def __init__(self, image_channels: int, text_size: int, size: int = 256, drop_rate: float = 0.5):
        super().__init__()
        self.embed_image = nn.Linear(image_channels, size)
        self.embed_text = nn.Linear(text_size, size)
        self.image_projection = nn.Linear(size, size)
        self.text_to_image = nn.Linear(size, size, bias=False)
        self.text_projection = nn.Linear(size, size)
        self.image_to_text = nn.Linear(size, size, bias=False)
        self.score = nn.Linear(size, 1)
        self.drop_rate = drop_rate

    def forward(self, image: torch.Tensor, text: torch.Tensor, mask: torch.Tensor):
        """image: B x G x C; text: B x N x D; mask: B x N. Returns (c, mean(V'))."""
        image_embedding = torch.tanh(self.embed_image(F.dropout(image, self.drop_rate, self.training)))
        text_embedding = torch.tanh(self.embed_text(F.dropout(text, self.drop_rate, self.training)))
        mean_image = image_embedding.mean(1)
        counts = mask.sum(1, keepdim=True).clamp(min=1)
        mean_text = (text_embedding * mask.unsqueeze(2)).sum(1) / counts
        image_hidden = torch.tanh(self.image_projection(image_embedding) + self.text_to_image(mean_text).unsqueeze(1))
        text_hidden = torch.tanh(self.text_projection(text_embedding) + self.image_to_text(mean_image).unsqueeze(1))
        image_scores = self.score(image_hidden).squeeze(2)
        text_scores = self.score(text_hidden).squeeze(2) + (1 - mask) * -1e9
        weights = torch.softmax(torch.cat([image_scores, text_scores], 1), 1)
        positions = image_scores.shape[1]
        image_weights, text_weights = weights[:, :positions], weights[:, positions:]
        context = (image_embedding * image_weights.unsqueeze(2)).sum(1) + (text_embedding * text_weights.unsqueeze(2)).sum(1)
        return context, mean_image


class TandemNet(nn.Module):
    def __init__(self, vocabulary_size: int, classes: int = 3):
        super().__init__()
        self.backbone = WideResNet()
        self.text = TextEncoder(vocabulary_size)
        self.attention = DualAttention(self.backbone.channels, 256)
        self.classifier = nn.Linear(256, classes)

    def forward(self, images, tokens, ends, mask):
        feature_map = self.backbone(images)
        image = feature_map.flatten(2).transpose(1, 2)
        text = self.text(tokens, ends, mask)
        context, mean_image = self.attention(image, text, mask)
        return self.classifier(F.dropout(context + mean_image, 0.5, self.training))


def report_inputs(batch_size: int, sentence_lengths: list[int], vocabulary_size: int, sentences: int, generator):
    """Word ids, end-of-sentence steps and the mask of identical reports with the given sentence lengths."""
    steps = sum(sentence_lengths)
    tokens = torch.randint(2, vocabulary_size, (batch_size, steps), generator=generator)
    ends = torch.zeros(batch_size, sentences, dtype=torch.long)
    mask = torch.zeros(batch_size, sentences)
    position = -1
    for slot, length in enumerate(sentence_lengths[:sentences]):
        position += length
        ends[:, slot] = position
        mask[:, slot] = 1
        tokens[:, position] = 1
    return tokens, ends, mask


def measure_gemm(side: int = 2048, repeats: int = 5) -> None:
    """Prints the best float32 matrix product rate of `repeats` products of side x side matrices."""
    a = torch.randn(side, side)
    b = torch.randn(side, side)
    torch.mm(a, b)
    best = float('inf')
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    json.dump({'gflops': 2 * side**3 / best / 1e9, 'threads': torch.get_num_threads()}, sys.stdout)
    sys.stdout.write('\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, help='image side in pixels')
    parser.add_argument('--batch', type=int, help='samples per step')
    parser.add_argument('--gemm', action='store_true', help='time 2048 x 2048 float32 matrix products instead')
    parser.add_argument('--steps', type=int, default=3, help='timed steps')
    parser.add_argument('--warmup', type=int, default=1, help='untimed steps before them')
    parser.add_argument('--threads', type=int, default=2, help='torch.set_num_threads')
    parser.add_argument('--sentence-lengths', default='10,10,9,9,9,9,10', help='tokens per sentence of every report')
    parser.add_argument('--vocabulary', type=int, default=1157, help='vocabulary size')
    parser.add_argument('--sentences', type=int, default=16, help='N, sentence slots per report')
    options = parser.parse_args()

    torch.set_num_threads(options.threads)
    if options.gemm:
        measure_gemm()
        return
    if options.size is None or options.batch is None:
        parser.error('--size and --batch are required unless --gemm is given')
    torch.manual_seed(1234)
    generator = torch.Generator().manual_seed(1234)
    model = TandemNet(options.vocabulary)
    model.train()
    cnn = list(model.backbone.parameters())
    attention = list(model.attention.parameters())
    others = list(model.text.parameters()) + attention + list(model.classifier.parameters())
    sgd = torch.optim.SGD(cnn, lr=1e-2, momentum=0.9, weight_decay=5e-4)
    adam = torch.optim.Adam(others, lr=1e-3, betas=(0.8, 0.999), eps=1e-8)

    images = torch.randn(options.batch, 3, options.size, options.size, generator=generator)
    lengths = [int(length) for length in options.sentence_lengths.split(',')]
    tokens, ends, mask = report_inputs(options.batch, lengths, options.vocabulary, options.sentences, generator)
    labels = torch.randint(0, 3, (options.batch,), generator=generator)

    def step() -> float:
        sgd.zero_grad(set_to_none=True)
        adam.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(images, tokens, ends, mask), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(attention, 0.1)
        sgd.step()
        adam.step()
        return loss.item()

    for _ in range(options.warmup):
        step()
    durations = []
    for _ in range(options.steps):
        started = time.perf_counter()
        step()
        durations.append((time.perf_counter() - started) * 1000)

    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    json.dump(
        {
            'stepMs': durations,
            'peakRssBytes': peak_kib * 1024,
            'torch': torch.__version__,
            'threads': torch.get_num_threads(),
        },
        sys.stdout,
    )
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
