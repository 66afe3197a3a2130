"""A toy noisy-label problem that runs the real teach machinery in seconds.

A 10 -> 32 -> 4 MLP trains with SGD on points whose labels are partly
flipped, through :class:`~l2t_mm.models.L2TLoss` and a ``WeightingDLN``;
after every student step a teacher runs :func:`~l2t_mm.engine.teach_step`
on a clean held-out batch. The result says whether the teacher made the
DLN find the flipped labels (noise AUC) and whether that helped the
student (clean test loss). Used as a guard in the test suite and by
``tools/toy_teacher.py`` for the teacher ablation table.
"""
from dataclasses import dataclass
from typing import List, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.registry import MODELS
from torch import Tensor, nn

from ..engine.student_step import StudentStep
from ..engine.teach_step import (MetaObjective, partition_parameters,
                                 teach_step)
from ..models import L2TLoss, dynamic_loss_modules, loss_context
from ..models.elementwise import describe_elements
from ..models.noise_auc import noise_auc

NUM_FEATURES, NUM_CLASSES = 10, 4


class ToyStudent(BaseModel):
    """10 -> 32 -> 4 MLP with an L2T cross-entropy."""

    def __init__(self, dln: Optional[dict] = None) -> None:
        super().__init__()
        self.hidden = nn.Linear(NUM_FEATURES, 32)
        self.head = nn.Linear(32, NUM_CLASSES)
        self.loss_cls = L2TLoss(loss=dict(type='mmdet.CrossEntropyLoss'),
                                dln=dln)

    def forward(self, inputs: Tensor, data_samples: Tensor = None,
                mode: str = 'tensor'):
        logits = self.head(torch.relu(self.hidden(inputs)))
        if mode == 'loss':
            return dict(loss_cls=self.loss_cls(logits, data_samples))
        return logits

    def element_weights(self, inputs: Tensor, labels: Tensor,
                        progress: float) -> Tensor:
        """The DLN's weight of every (input, label) pair at training
        progress ``progress``."""
        with torch.no_grad():
            logits = self(inputs)
            values = F.cross_entropy(logits, labels, reduction='none')
            elements = describe_elements(logits, labels, values, False,
                                         progress)
            return self.loss_cls.dln(elements) / values.clamp(min=1e-12)


@dataclass
class NoisyProblem:
    train_inputs: Tensor
    train_labels: Tensor  # with flips
    corrupted: Tensor  # bool: the label was flipped
    val_inputs: Tensor  # clean, held out: the teacher's batches
    val_labels: Tensor
    test_inputs: Tensor
    test_labels: Tensor


def make_problem(seed: int, num_train: int = 1000, noise: float = 0.4,
                 num_val: int = 200, num_test: int = 1000) -> NoisyProblem:
    """Labels from a fixed random two-layer network; ``noise`` of the
    training labels replaced by another class, uniformly."""
    generator = torch.Generator().manual_seed(seed)
    projection = torch.randn(NUM_FEATURES, 16, generator=generator)
    readout = torch.randn(16, NUM_CLASSES, generator=generator)

    def sample(count: int):
        inputs = torch.randn(count, NUM_FEATURES, generator=generator)
        labels = (torch.tanh(inputs @ projection) @ readout).argmax(1)
        return inputs, labels

    train_inputs, clean = sample(num_train)
    corrupted = torch.rand(num_train, generator=generator) < noise
    shift = torch.randint(1, NUM_CLASSES, (num_train, ), generator=generator)
    noisy = torch.where(corrupted, (clean + shift) % NUM_CLASSES, clean)
    return NoisyProblem(train_inputs, noisy, corrupted, *sample(num_val),
                        *sample(num_test))


@dataclass
class ToyResult:
    test_loss: float  # clean test cross-entropy of the final student
    auc: float  # noise AUC of the final DLN on the training set
    improved: float  # share of teach steps whose val loss fell (learnable)
    weights_min: float
    weights_max: float


def run_toy(teacher: Optional[dict], seed: int, steps: int = 200,
            batch_size: int = 100, val_batch_size: int = 50,
            lr: float = 0.03, dln_lr: float = 0.01,
            dln: Optional[dict] = None,
            problem: Optional[NoisyProblem] = None,
            lookahead_direction_only: bool = False) -> ToyResult:
    """Train the toy student for ``steps`` iterations with a teach step
    after each (``teacher=None``: no teaching, the baseline;
    ``lookahead_direction_only``: as L2TTeacherHook's)."""
    problem = problem or make_problem(seed)
    torch.manual_seed(seed)
    model = ToyStudent(dln)
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=lr,
        momentum=0.9)
    partition = partition_parameters(model, 'all')
    params = dict(model.named_parameters())
    teacher_module = teacher_optimizer = None
    if teacher is not None:
        teacher_module = MODELS.build(
            dict(teacher, num_coordinates=sum(
                params[name].numel() for name in partition.dln)))
        if teacher_module.learnable:
            teacher_optimizer = torch.optim.Adam(teacher_module.parameters(),
                                                 lr=1e-3)
    generator = torch.Generator().manual_seed(seed + 1000)
    improved: List[bool] = []
    num_train = problem.train_inputs.size(0)
    modules = dynamic_loss_modules(model)
    for step in range(steps):
        index = torch.randint(0, num_train, (batch_size, ),
                              generator=generator)
        batch = dict(inputs=problem.train_inputs[index],
                     data_samples=problem.train_labels[index])
        optimizer.zero_grad()
        with loss_context(modules, progress=step / steps):
            losses = model(**batch, mode='loss')
        model.parse_losses(losses)[0].backward()
        optimizer.step()
        if teacher_module is None:
            continue
        val_index = torch.randint(0, problem.val_inputs.size(0),
                                  (val_batch_size, ), generator=generator)
        val_batch = dict(inputs=problem.val_inputs[val_index],
                         data_samples=problem.val_labels[val_index])
        result = teach_step(
            model, partition, teacher_module, teacher_optimizer, batch,
            val_batch, StudentStep(optimizer, {
                name: params[name] for name in partition.student}),
            dln_lr=dln_lr, progress=step / steps,
            objective=MetaObjective(
                direction_only=lookahead_direction_only))
        if result.applied and teacher_module.learnable:
            improved.append(result.val_loss_after < result.val_loss_before)
    with torch.no_grad():
        test_loss = F.cross_entropy(model(problem.test_inputs),
                                    problem.test_labels).item()
    weights = model.element_weights(problem.train_inputs,
                                    problem.train_labels,
                                    progress=(steps - 1) / steps)
    auc = noise_auc(weights, problem.corrupted) if teacher else 0.5
    return ToyResult(
        test_loss=test_loss, auc=auc,
        improved=(sum(improved) / len(improved)) if improved else float('nan'),
        weights_min=weights.min().item(), weights_max=weights.max().item())
