"""A tiny mmengine model and dataset for fast tests of the teach machinery."""
import inspect

import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from torch import nn
from torch.utils.data import Dataset

from l2t_mm.engine.student_step import StudentStep
from l2t_mm.models import L2TLoss


class ToyClassifier(BaseModel):
    """backbone -> BatchNorm -> head, with an L2T cross-entropy."""

    def __init__(self, num_classes: int = 3, dln: dict = None) -> None:
        super().__init__()
        self.backbone = nn.Linear(4, 8)
        self.bn = nn.BatchNorm1d(8)
        self.head = nn.Linear(8, num_classes)
        self.loss_cls = L2TLoss(
            loss=dict(type='mmdet.CrossEntropyLoss'), dln=dln)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        logits = self.head(torch.relu(self.bn(self.backbone(inputs))))
        if mode == 'loss':
            return dict(loss_cls=self.loss_cls(logits, data_samples))
        if mode == 'predict':
            return logits.argmax(dim=1)
        return logits


class ToyDataset(Dataset):
    """Gaussian blobs; the label is the blob. Deterministic per index."""

    def __init__(self, size: int = 32, seed: int = 0) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, 3, (size,), generator=generator)
        centres = torch.eye(3, 4) * 2
        self.inputs = centres[self.labels] + torch.randn(
            size, 4, generator=generator)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return dict(inputs=self.inputs[index],
                    data_samples=self.labels[index])


def record_keyword(monkeypatch, module, name: str, keyword: str) -> list:
    """Wrap ``module.name`` so that every call appends the value its
    parameter ``keyword`` gets (by name, by position or its default) to the
    returned list, and then runs as before: whether an option reaches the
    function a caller hands it to."""
    original = getattr(module, name)
    signature = inspect.signature(original)
    assert keyword in signature.parameters, (name, keyword)
    seen = []

    def recording(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        seen.append(bound.arguments[keyword])
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, recording)
    return seen


def toy_batch(size: int = 16, seed: int = 0, dtype=torch.float32) -> dict:
    dataset = ToyDataset(size, seed)
    return dict(inputs=dataset.inputs.to(dtype), data_samples=dataset.labels)


def sgd_step(model: nn.Module, partition, lr: float) -> StudentStep:
    """Plain SGD at ``lr`` over θ_S: a look-ahead without an optimizer."""
    params = dict(model.named_parameters())
    return StudentStep(None, {n: params[n] for n in partition.student}, lr)


class ToyAccuracy(BaseMetric):
    """Share of correct predictions of :class:`ToyClassifier`."""

    def process(self, data_batch, data_samples) -> None:
        # The evaluator hands predictions over one sample at a time.
        predictions = torch.stack(list(data_samples))
        labels = data_batch['data_samples']
        self.results.append((predictions == labels).float().mean().item())

    def compute_metrics(self, results: list) -> dict:
        return dict(accuracy=sum(results) / len(results))
