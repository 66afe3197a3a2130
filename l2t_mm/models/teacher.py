"""Teachers: what turns the DLN's meta-gradient into the DLN's update.

Every teacher starts from the same normalised direction, Adam's
``m̂ / (√v̂ + ε)`` of the meta-gradient g (moments kept per coordinate of φ,
in buffers, so they are checkpointed). The meta-gradients of real runs are
1e-6 to 1e2 per coordinate and shrink with the student's learning rate;
normalising them first makes the step size independent of that scale. A
learned teacher then chooses, per coordinate, a gain in (0, 2) on that
direction (1 at initialisation): its update always points downhill on the
meta-gradient, is zero where g is, and is bounded, whatever ψ learns.
(docs/method.md: why the earlier, unnormalised LSTM teacher drifted and
ran away.)

- :class:`AdamTeacher`: gain 1, no parameters ψ (Meta-Weight-Net's form:
  the DLN is trained by Adam on the validation loss).
- :class:`MLPTeacher`: the gain from a memoryless MLP (L2T-DLF's form).
- :class:`LSTMTeacher`: the gain from a coordinate-wise LSTM whose memory
  (h, c) is carried across the whole run (L2T-DLN's memory teacher).

``propose`` is pure: it returns the update and the teacher's next state;
:meth:`Teacher.commit` stores that state once the teach step is accepted,
so a skipped step leaves the teacher as it was.
"""
from typing import Dict, Optional, Tuple

import torch
from mmengine.registry import MODELS
from torch import Tensor, nn

from ..utils.checks import require_bool

TeacherState = Dict[str, Tensor]


class Teacher(nn.Module):
    """Base: Adam moments of the meta-gradient and the bounded gain.

    Args:
        num_coordinates: number of DLN parameters; set by the hook.
        betas: decay rates of the first and second moment of g.
        eps: added to √v̂.
        use_student_state: feed the student state
            ``[t / T, log1p(train loss), log1p(val loss)]`` to the gain.
        momentum_bias_correction: divide the first moment by
            ``1 - β1^t`` as Adam does. Off, the direction starts near 0 and
            grows only as successive meta-gradients agree in sign (to about
            ``1 - β1^t`` when they all do, ``√((1 - β1) / (1 + β1))`` when
            their signs are random), so φ moves far only on a consistent
            signal; with Adam's correction every step, the first included,
            is about ``dln_lr`` whatever the signs
            (``tools/probe_meta_gradient.py`` shows how split they are).
    """
    student_state_size = 3
    max_gain = 2.0

    def __init__(self,
                 num_coordinates: int,
                 betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8,
                 use_student_state: bool = True,
                 momentum_bias_correction: bool = True) -> None:
        super().__init__()
        if not isinstance(num_coordinates, int) or num_coordinates <= 0:
            raise ValueError(
                f'{type(self).__name__} needs at least one DLN parameter, '
                f'got num_coordinates={num_coordinates!r}')
        if not (len(betas) == 2 and all(0 <= b < 1 for b in betas)):
            raise ValueError(f'{type(self).__name__}.betas must be two '
                             f'numbers in [0, 1), got {betas!r}')
        if eps <= 0:
            raise ValueError(
                f'{type(self).__name__}.eps must be > 0, got {eps!r}')
        self.num_coordinates = num_coordinates
        self.betas = tuple(betas)
        self.eps = eps
        require_bool(momentum_bias_correction,
                     f'{type(self).__name__}.momentum_bias_correction')
        self.use_student_state = use_student_state
        self.momentum_bias_correction = momentum_bias_correction
        self.register_buffer('steps', torch.zeros(()))
        self.register_buffer('exp_avg', torch.zeros(num_coordinates))
        self.register_buffer('exp_avg_sq', torch.zeros(num_coordinates))

    @property
    def learnable(self) -> bool:
        """Whether the teach step should train ψ (stage 3)."""
        return any(p.requires_grad for p in self.parameters())

    def propose(self, gradient: Tensor,
                student_state: Optional[Tensor] = None
                ) -> Tuple[Tensor, TeacherState]:
        """The proposed update Δφ (to subtract, like a gradient) and the
        teacher's next state. Differentiable w.r.t. ψ."""
        if gradient.shape != self.exp_avg.shape:
            raise ValueError(
                f'{type(self).__name__} was built for '
                f'{self.num_coordinates} DLN parameters, got a meta-gradient '
                f'of shape {tuple(gradient.shape)}')
        if self.use_student_state and student_state is None:
            raise ValueError(f'{type(self).__name__}(use_student_state=True) '
                             'needs the student state')
        beta1, beta2 = self.betas
        steps = self.steps + 1
        exp_avg = beta1 * self.exp_avg + (1 - beta1) * gradient
        exp_avg_sq = beta2 * self.exp_avg_sq + (1 - beta2) * gradient.square()
        rms = (exp_avg_sq / (1 - beta2**steps)).sqrt() + self.eps
        first_moment = (exp_avg / (1 - beta1**steps)
                        if self.momentum_bias_correction else exp_avg)
        direction = first_moment / rms
        features = torch.stack([direction, gradient / rms], dim=-1)
        if self.use_student_state:
            features = torch.cat(
                [features,
                 student_state.to(features).expand(gradient.numel(), -1)],
                dim=-1)
        gain, state = self.gain(features)
        state.update(steps=steps, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq)
        return gain * direction, state

    def gain(self, features: Tensor) -> Tuple[Tensor, TeacherState]:
        """Per-coordinate gain in (0, max_gain) from ``features`` (one row
        per coordinate: [Adam direction, g / rms, student state...]), and the
        new values of any state of the subclass."""
        return torch.ones_like(features[:, 0]), {}

    def bounded(self, logits: Tensor) -> Tensor:
        """Logits -> gain in (0, max_gain); 1 where the logits are 0."""
        return self.max_gain * torch.sigmoid(logits)

    def commit(self, state: TeacherState) -> None:
        """Store the state returned by an accepted :meth:`propose`."""
        with torch.no_grad():
            for name, value in state.items():
                getattr(self, name).copy_(value.detach())

    def feature_size(self) -> int:
        return 2 + (self.student_state_size if self.use_student_state else 0)


@MODELS.register_module()
class AdamTeacher(Teacher):
    """Adam on φ: the DLN follows the normalised meta-gradient, nothing is
    learned about how (Meta-Weight-Net's form; no teacher-learning stage,
    so a teach step costs one look-ahead instead of two)."""

    def __init__(self, num_coordinates: int,
                 betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8,
                 momentum_bias_correction: bool = True) -> None:
        super().__init__(num_coordinates, betas, eps, use_student_state=False,
                         momentum_bias_correction=momentum_bias_correction)


@MODELS.register_module()
class MLPTeacher(Teacher):
    """Memoryless teacher: an MLP maps each coordinate's features to its
    gain (L2T-DLF's teacher, without memory). Output layer zero at
    initialisation: gain 1, the teacher starts as :class:`AdamTeacher`.

    Args:
        hidden_size: width of the hidden layer.
    """

    def __init__(self, num_coordinates: int, hidden_size: int = 20,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 use_student_state: bool = True,
                 momentum_bias_correction: bool = True) -> None:
        super().__init__(num_coordinates, betas, eps, use_student_state,
                         momentum_bias_correction)
        self.hidden = nn.Linear(self.feature_size(), hidden_size)
        self.output = nn.Linear(hidden_size, 1)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def gain(self, features: Tensor) -> Tuple[Tensor, TeacherState]:
        hidden = torch.tanh(self.hidden(features))
        return self.bounded(self.output(hidden).squeeze(-1)), {}


@MODELS.register_module()
class LSTMTeacher(Teacher):
    """Coordinate-wise LSTM with memory: L2T-DLN's teacher.

    Every coordinate of φ is one batch element of a shared stacked LSTM,
    with its own memory (h, c) kept across the whole run (a buffer, so it is
    saved in checkpoints). The LSTM reads the coordinate's features and
    outputs its gain; output layer zero at initialisation, so the teacher
    starts as :class:`AdamTeacher` and learns where to step further or less.

    Args:
        hidden_size: LSTM width.
        num_layers: stacked LSTM cells.
    """

    def __init__(self, num_coordinates: int, hidden_size: int = 20,
                 num_layers: int = 2,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 use_student_state: bool = True,
                 momentum_bias_correction: bool = True) -> None:
        super().__init__(num_coordinates, betas, eps, use_student_state,
                         momentum_bias_correction)
        self.cells = nn.ModuleList(
            nn.LSTMCell(self.feature_size() if layer == 0 else hidden_size,
                        hidden_size) for layer in range(num_layers))
        self.output = nn.Linear(hidden_size, 1)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)
        # memory[0] = h, memory[1] = c; one row per coordinate and layer.
        self.register_buffer(
            'memory', torch.zeros(2, num_layers, num_coordinates, hidden_size))

    def gain(self, features: Tensor) -> Tuple[Tensor, TeacherState]:
        inputs = features
        new_h, new_c = [], []
        for layer, cell in enumerate(self.cells):
            h, c = cell(inputs, (self.memory[0, layer], self.memory[1, layer]))
            new_h.append(h)
            new_c.append(c)
            inputs = h
        gain = self.bounded(self.output(inputs).squeeze(-1))
        return gain, dict(
            memory=torch.stack([torch.stack(new_h), torch.stack(new_c)]))
