"""Load an optlab weight file into PyTorch modules and evaluate it.

Usage: /usr/bin/python3 scripts/reference/check_weights_torch.py MODEL WEIGHTS DATA

MODEL is an optlab model name; WEIGHTS a safetensors file written by
`optlab train --save-weights` (optlab.Network.ExportWeights); DATA a
safetensors file with "x" (float32 [n, 784]) and "y" (int32 [n]). The script
builds the model from plain torch.nn modules named as docs/weights.md says
(nn.Linear, nn.Conv2d, nn.BatchNorm1d with eps=1e-3 and momentum=0.01, which is
Keras' momentum 0.99), loads the file with load_state_dict(strict=True), and
prints, as JSON, the inference-mode mean cross-entropy plus the model's L2 term
(1e-4·Σ dense1.weight² for mlp-bn, as Keras and optlab report the loss) and the
accuracy. optlab/resume_test.go (TestExportedWeightsLoadInPyTorch) compares
them with optlab's own evaluation of the same weights.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_format  # noqa: E402


class MLP(nn.Module):
    def __init__(self, sizes, bn=False, outputs=10):
        super().__init__()
        self.bn_model = bn
        if bn:
            self.dense1 = nn.Linear(784, 300)
            self.bn = nn.BatchNorm1d(300, eps=1e-3, momentum=0.01)
            self.dense2 = nn.Linear(300, 100)
            self.dropout = nn.Dropout(0.2)
            self.out = nn.Linear(100, outputs)
        elif sizes:
            self.dense1 = nn.Linear(784, sizes[0])
            self.dense2 = nn.Linear(sizes[0], sizes[1])
            self.out = nn.Linear(sizes[1], 10)
        else:
            self.out = nn.Linear(784, 10)

    def forward(self, x):
        if self.bn_model:
            h = self.bn(F.relu(self.dense1(x)))
            return self.out(self.dropout(F.relu(self.dense2(h))))
        if hasattr(self, "dense1"):
            return self.out(F.relu(self.dense2(F.relu(self.dense1(x)))))
        return self.out(x)

    def extra_loss(self):
        if self.bn_model:
            return 1e-4 * (self.dense1.weight ** 2).sum()
        return torch.zeros(())


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5, padding=2)
        self.conv2 = nn.Conv2d(8, 16, 5, padding=2)
        self.out = nn.Linear(7 * 7 * 16, 10)

    def forward(self, x):
        b = x.shape[0]
        h = F.max_pool2d(F.relu(self.conv1(x.reshape(b, 1, 28, 28))), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        # optlab flattens [batch, height, width, channels] (GoMLX's NHWC).
        return self.out(h.permute(0, 2, 3, 1).reshape(b, -1))

    def extra_loss(self):
        return torch.zeros(())


class DeepMLP(nn.Module):
    """A plain ReLU MLP whose layers are dense1 … denseN and out (mlp-deepobs)."""

    def __init__(self, sizes):
        super().__init__()
        self.hidden = len(sizes) - 2
        for i in range(self.hidden):
            setattr(self, f"dense{i + 1}", nn.Linear(sizes[i], sizes[i + 1]))
        self.out = nn.Linear(sizes[-2], sizes[-1])

    def forward(self, x):
        for i in range(self.hidden):
            x = F.relu(getattr(self, f"dense{i + 1}")(x))
        return self.out(x)

    def extra_loss(self):
        return torch.zeros(())


class AlgoPerfMLP(nn.Module):
    """AlgoPerf's MNIST network: standardised pixels, Dense 128 sigmoid, Dense 10."""

    def __init__(self):
        super().__init__()
        self.dense1 = nn.Linear(784, 128)
        self.out = nn.Linear(128, 10)

    def forward(self, x):
        return self.out(torch.sigmoid(self.dense1((x - 0.1307) / 0.3081)))

    def extra_loss(self):
        return torch.zeros(())


class CNN2C2D(nn.Module):
    """DeepOBS's 2c2d: two 5×5 'same' convolutions with max-pooling, Dense 1024, Dense 10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5, padding=2)
        self.conv2 = nn.Conv2d(32, 64, 5, padding=2)
        self.dense1 = nn.Linear(7 * 7 * 64, 1024)
        self.out = nn.Linear(1024, 10)

    def forward(self, x):
        b = x.shape[0]
        h = F.max_pool2d(F.relu(self.conv1(x.reshape(b, 1, 28, 28))), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        h = F.relu(self.dense1(h.permute(0, 2, 3, 1).reshape(b, -1)))  # NHWC flattening
        return self.out(h)

    def extra_loss(self):
        return torch.zeros(())


MODELS = {
    "logreg": lambda: MLP(None),
    "logreg-deepobs": lambda: MLP(None),
    "mlp-deepobs": lambda: DeepMLP((784, 1000, 500, 100, 10)),
    "mlp-algoperf": AlgoPerfMLP,
    "cnn-2c2d": CNN2C2D,
    "mlp-small": lambda: MLP((128, 64)),
    "mlp-bn": lambda: MLP(None, bn=True),
    "mlp-bn100": lambda: MLP(None, bn=True, outputs=100),
    "cnn-small": CNN,
}


def main():
    name, weights, data = sys.argv[1:4]
    model = MODELS[name]()
    tensors, _ = st_format.read(weights)
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in tensors.items()}, strict=True)
    model.eval()
    d, _ = st_format.read(data)
    x = torch.from_numpy(np.array(d["x"], dtype=np.float32))
    y = torch.from_numpy(np.array(d["y"]).astype(np.int64))
    with torch.no_grad():
        logits = model(x)
        loss = F.cross_entropy(logits, y) + model.extra_loss()
        acc = (logits.argmax(1) == y).double().mean()
    print(json.dumps({"loss": float(loss), "accuracy": float(acc)}))


if __name__ == "__main__":
    main()
