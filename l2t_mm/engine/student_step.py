"""The student's optimizer update, as a differentiable function.

The look-ahead asks "where would the student's next step take it under φ",
so it must step the way the student's optimizer will: with its momentum
buffer, weight decay and per-group learning rate (a plain SGD step at the
scheduler's lr is ~10x too short under momentum 0.9). The optimizer's state
is read, never written: the look-ahead works on copies.
"""
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor, nn

State = Dict[str, Dict[str, Tensor]]


class StudentStep:
    """Differentiable update rule of a torch optimizer over named tensors.

    Supports ``SGD`` (momentum, dampening, nesterov, weight decay) and
    ``Adam``/``AdamW`` (weight decay, bias correction; not amsgrad). Any
    other optimizer is stepped as SGD at its learning rate, which
    :attr:`approximate` reports so the caller can say so once.

    Args:
        optimizer: the student's optimizer, or ``None`` for plain SGD.
        params: the student's parameters θ_S by name.
        lr: a fixed look-ahead learning rate instead of each group's current
            one (``None``: the optimizer's).
    """

    def __init__(self, optimizer: Optional[torch.optim.Optimizer],
                 params: Dict[str, nn.Parameter],
                 lr: Optional[float] = None) -> None:
        groups = {}
        if optimizer is not None:
            for group in optimizer.param_groups:
                for param in group['params']:
                    groups[id(param)] = group
        self.kind = self._kind(optimizer)
        self.approximate = optimizer is not None and self.kind == 'other'
        self.hyper: Dict[str, dict] = {}
        self.initial_state: State = {}
        for name, param in params.items():
            group = groups.get(id(param), {})
            if 'lr' not in group and lr is None:
                raise ValueError(
                    f'L2TTeacherHook: {name!r} is not in the student '
                    'optimizer, so the look-ahead has no learning rate for '
                    'it; set L2TTeacherHook.lookahead_lr.')
            self.hyper[name] = dict(group, lr=lr if lr is not None else
                                    group['lr'])
            saved = optimizer.state.get(param, {}) if optimizer else {}
            self.initial_state[name] = {
                key: value.detach()
                for key, value in saved.items() if torch.is_tensor(value)
            }

    @staticmethod
    def _kind(optimizer) -> str:
        if optimizer is None or isinstance(optimizer, torch.optim.SGD):
            return 'sgd'
        if isinstance(optimizer, torch.optim.AdamW):
            return 'adamw'
        if isinstance(optimizer, torch.optim.Adam):
            return 'adam'
        return 'other'

    def describe(self) -> str:
        """One line for the log: how the look-ahead steps."""
        lrs = sorted({hyper['lr'] for hyper in self.hyper.values()})
        keys = dict(sgd=('momentum', 'nesterov', 'weight_decay'),
                    adam=('betas', 'weight_decay'),
                    adamw=('betas', 'weight_decay'), other=())[self.kind]
        first = next(iter(self.hyper.values()), {})
        options = ', '.join(f'{key}={first[key]}' for key in keys
                            if key in first)
        name = 'SGD (approximating the student optimizer)' \
            if self.approximate else self.kind.upper()
        return f'{name} lr={lrs[:3]}' + (f', {options}' if options else '')

    def step(self, current: Dict[str, Tensor], grads: Dict[str, Tensor],
             state: Optional[State] = None
             ) -> Tuple[Dict[str, Tensor], State]:
        """θ after one optimizer step from ``current`` with ``grads`` (names
        without a gradient stay), and the optimizer state after it."""
        state = self.initial_state if state is None else state
        new_params, new_state = dict(current), dict(state)
        for name, grad in grads.items():
            if grad is None:
                continue
            hyper, saved = self.hyper[name], state.get(name, {})
            if self.kind in ('adam', 'adamw'):
                new_params[name], new_state[name] = self._adam(
                    current[name], grad, hyper, saved)
            else:
                new_params[name], new_state[name] = self._sgd(
                    current[name], grad, hyper, saved)
        return new_params, new_state

    def _sgd(self, param: Tensor, grad: Tensor, hyper: dict,
             saved: Dict[str, Tensor]) -> Tuple[Tensor, Dict[str, Tensor]]:
        momentum = hyper.get('momentum', 0.0)
        decay = hyper.get('weight_decay', 0.0)
        if decay:
            grad = grad + decay * param
        if not momentum:
            return param - hyper['lr'] * grad, saved
        buffer = saved.get('momentum_buffer')
        buffer = grad if buffer is None else (
            momentum * buffer + (1 - hyper.get('dampening', 0.0)) * grad)
        direction = grad + momentum * buffer if hyper.get('nesterov') \
            else buffer
        return param - hyper['lr'] * direction, dict(momentum_buffer=buffer)

    def _adam(self, param: Tensor, grad: Tensor, hyper: dict,
              saved: Dict[str, Tensor]) -> Tuple[Tensor, Dict[str, Tensor]]:
        beta1, beta2 = hyper['betas']
        decay, lr = hyper.get('weight_decay', 0.0), hyper['lr']
        if decay and self.kind == 'adamw':
            param = param * (1 - lr * decay)
        elif decay:
            grad = grad + decay * param
        step = saved.get('step', torch.zeros(())) + 1
        exp_avg = beta1 * saved.get('exp_avg', torch.zeros_like(grad)) + (
            1 - beta1) * grad
        exp_avg_sq = beta2 * saved.get(
            'exp_avg_sq', torch.zeros_like(grad)) + (1 - beta2) * grad * grad
        step_value = float(step)
        # + tiny: sqrt has an infinite derivative at 0 (a zero gradient on
        # the first step), and the look-ahead is differentiated through.
        denom = (exp_avg_sq / (1 - beta2**step_value) + 1e-30).sqrt() \
            + hyper['eps']
        param = param - lr * exp_avg / (1 - beta1**step_value) / denom
        return param, dict(step=step, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq)
