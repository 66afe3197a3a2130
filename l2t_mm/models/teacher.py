"""``LSTMTeacher``: the memory teacher that proposes updates of the DLN."""
import math
from typing import Optional, Tuple

import torch
from mmengine.registry import MODELS
from torch import Tensor, nn


def preprocess_gradient(gradient: Tensor, p: float) -> Tensor:
    """Log/sign preprocessing of Andrychowicz et al. (2016).

    Meta-gradients span many orders of magnitude; each coordinate becomes
    ``(log|g| / p, sign g)`` if ``|g| >= e^-p`` else ``(-1, e^p g)``.
    """
    magnitude = gradient.abs()
    large = magnitude >= math.exp(-p)
    log_part = torch.where(large, magnitude.clamp(min=1e-38).log() / p,
                           torch.full_like(gradient, -1.0))
    sign_part = torch.where(large, gradient.sign(), gradient * math.exp(p))
    return torch.stack([log_part, sign_part], dim=-1)


@MODELS.register_module()
class LSTMTeacher(nn.Module):
    """Coordinate-wise LSTM that maps the DLN's meta-gradient to its update.

    Every coordinate of φ is one batch element of a shared stacked LSTM, with
    its own memory (h, c) kept across the whole run (a registered buffer, so
    it is saved in checkpoints). Inputs per coordinate: the preprocessed
    meta-gradient and, optionally, the student state
    ``[t / T, log1p(train loss), log1p(val loss)]`` broadcast to all of them.

    Args:
        num_coordinates: number of DLN parameters; set by the hook.
        hidden_size: LSTM width.
        num_layers: stacked LSTM cells.
        preprocess_p: the ``p`` of the log/sign preprocessing.
        use_student_state: feed the student state as extra inputs.
        output_scale: multiplies the LSTM output; bounds early updates.
    """
    student_state_size = 3

    def __init__(self,
                 num_coordinates: int,
                 hidden_size: int = 20,
                 num_layers: int = 2,
                 preprocess_p: float = 10.0,
                 use_student_state: bool = True,
                 output_scale: float = 0.1) -> None:
        super().__init__()
        if num_coordinates <= 0:
            raise ValueError('LSTMTeacher needs at least one DLN parameter, '
                             f'got num_coordinates={num_coordinates}')
        self.preprocess_p = preprocess_p
        self.use_student_state = use_student_state
        self.output_scale = output_scale
        input_size = 2 + (self.student_state_size if use_student_state else 0)
        self.cells = nn.ModuleList(
            nn.LSTMCell(input_size if layer == 0 else hidden_size, hidden_size)
            for layer in range(num_layers))
        self.output = nn.Linear(hidden_size, 1)
        nn.init.normal_(self.output.weight, std=0.01)
        nn.init.zeros_(self.output.bias)
        # memory[0] = h, memory[1] = c; one row per coordinate and layer.
        self.register_buffer(
            'memory', torch.zeros(2, num_layers, num_coordinates, hidden_size))

    def forward(self,
                gradient: Tensor,
                student_state: Optional[Tensor] = None,
                memory: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Return the proposed update Δφ (shape of ``gradient``) and the new
        memory. Pure: committing the memory is the caller's decision, so a
        skipped teach step leaves the teacher untouched."""
        memory = self.memory if memory is None else memory
        inputs = preprocess_gradient(gradient, self.preprocess_p)
        if self.use_student_state:
            if student_state is None:
                raise ValueError('LSTMTeacher(use_student_state=True) needs '
                                 'the student state')
            inputs = torch.cat(
                [inputs, student_state.expand(gradient.numel(), -1)], dim=-1)
        new_h, new_c = [], []
        for layer, cell in enumerate(self.cells):
            h, c = cell(inputs, (memory[0, layer], memory[1, layer]))
            new_h.append(h)
            new_c.append(c)
            inputs = h
        update = self.output(inputs).squeeze(-1) * self.output_scale
        return update, torch.stack([torch.stack(new_h), torch.stack(new_c)])
