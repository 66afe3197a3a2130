"""``L2TTeacherHook``: the teach step inside ordinary runner iterations."""
import json
import os.path as osp
import time
from contextlib import ExitStack
from typing import Dict, Iterator, List, Optional, Sequence, Union

import torch
from mmengine.dist import all_reduce, get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OPTIMIZERS
from mmengine.registry import HOOKS, MODELS
from mmengine.runner import BaseLoop
from torch import Tensor, nn

from ..models.dynamic_loss_head import DynamicLossHead
from ..models.dynamic_loss_module import dynamic_loss_modules
from ..models.loss_context import loss_context
from ..models.weight_record import ClassWeightStats, DLNRecord
from ..utils.checkpoint import model_state_dict
from ..utils.checks import require_bool
from .log_schema import (CLASS_WEIGHTS_FILE, NOISE_AUC_PREFIX,
                         NOISE_AUC_WITHIN_PREFIX, NOISE_ELEMENTS_FILE,
                         SKIPPED_STEPS, SLOPE_PREFIX, TEACH_RESULTS,
                         TEACH_STEPS, TEACH_TIME, WARMUP_BATCHES,
                         WARMUP_SECONDS, add_to_total, hub_key, log_noise_auc,
                         teach_result_key, weight_key)
from .noise_diagnostic import clean_labelled, noise_reports
from .student_step import StudentStep
from .teach_step import (MetaObjective, ParameterPartition,
                         pair_meta_gradient, partition_parameters,
                         teach_step)
from .teacher_transfer import (CHECKPOINT_KEY, Layout, TeacherSourceError,
                               apply_teacher_source, dln_layout, model_task,
                               read_teacher_source, teacher_record,
                               teacher_state_difference,
                               validate_init_teacher)

NOISE_SAMPLE_SIZE = 2000  # elements per DLN kept for the weight/loss plot
VAL_LOSSES = ('stock', 'class_mean')  # the choices of ``val_loss``


def _mean_over_ranks(tensor: Tensor) -> Tensor:
    if get_world_size() > 1:
        all_reduce(tensor, op='mean')
    return tensor


def refuse_untaught_weightings(modules: Dict[str, nn.Module]) -> None:
    """The teacher adjusts DLNs only; a peer weighting (trained by the
    student's optimizer or a rule) under the hook would be trained twice."""
    for name, module in modules.items():
        if not module.dln.teachable:
            kind = type(module.dln).__name__
            raise ValueError(
                f'L2TTeacherHook: {name!r} uses {kind}, which the teacher '
                'does not adjust (the student\'s optimizer or its own rule '
                'does). Remove L2TTeacherHook from custom_hooks to train with '
                f'{kind}, or use dln=dict(type=\'TermWeightingDLN\') to '
                'teach the weights.')


def refuse_class_mean_without_classes(modules: Dict[str, nn.Module]) -> None:
    """``val_loss='class_mean'`` needs the class of every element: refuse at
    the start what cannot give it (a loss's reduction and targets are only
    seen when it is called: the teach step refuses the rest)."""
    for name, module in modules.items():
        if isinstance(module, DynamicLossHead):
            reason = 'weights whole loss terms and sees no classes'
        elif getattr(module.stock_loss, 'use_sigmoid', False):
            reason = ('wraps a sigmoid loss, whose targets are not class '
                      'indices')
        else:
            continue
        raise ValueError(
            f"L2TTeacherHook.val_loss='class_mean': {name!r} {reason}; use "
            "val_loss='stock' for this model")


@HOOKS.register_module()
class L2TTeacherHook(Hook):
    """Teach the model's DLNs with a memory teacher while the runner trains.

    Every ``interval`` iterations (see :meth:`should_teach`), after the
    student's optimizer step, runs :func:`~l2t_mm.engine.teach_step` on the
    iteration's training batch and one batch of ``teach_dataloader``. On
    every rank in lock-step under DDP (meta-gradients are averaged, so φ and
    ψ stay identical). The teacher (ψ and its state: moments, memory), its
    optimizer and the teach loader's position live in the checkpoint under
    ``'l2t_teacher'`` and are restored on ``resume``; φ lives in the model's
    state dict, so ``load_from`` (fine-tuning) restores it with the model
    and restores the teacher only if ``restore_teacher_on_load``. Outside
    training (``Runner.test()``/``val()``) the hook does nothing: it builds
    neither the teacher nor the teach loader. The checkpoint entry describes
    the teacher on its own (type, config, task, coordinate layout, each
    DLN's φ, where it came from; :mod:`~l2t_mm.engine.teacher_transfer`),
    so ``init_teacher`` can start another run, even of another model, from
    it.
    The DLN weights logged every iteration (``l2t/w/...``, ``l2t/slope/...``)
    are those of the student's own forward pass (:attr:`records`), never of
    the teach step's passes. At every teach step the mean element weight per
    class of each classification DLN since the previous teach step (the
    student's training batches, all ranks) is appended to
    ``<log_dir>/l2t_class_weights.jsonl``, and once more at the end of
    training for the iterations after the last teach step: too many values
    for the text log, read by ``tools/analyze_teacher.py``.
    :meth:`should_teach` alone decides which iterations those are.

    Noise diagnostic: when the training batches carry clean labels next to
    the noisy ones (``l2t_mm.datasets.clean_labels``), every teach step
    logs ``l2t/noise_auc/<module>``, how well low DLN weights pick out the
    elements whose labels were corrupted (0.5: blind), and rewrites
    ``<log_dir>/l2t_noise_elements.json`` with a sample of (loss, weight,
    corrupted) per DLN (rank 0's batch).

    Args:
        teach_dataloader: dataloader config (or instance) of held-out data
            the student never trains on; its pipeline must load annotations.
        interval: teach every ``interval`` training iterations.
        start_iter: no teaching before this iteration.
        warmup_batches: make the first teach step from the summed
            meta-gradients of this many batch pairs, one per training
            iteration from ``start_iter`` on, φ held fixed until then
            (0: the first step uses one pair, at the first ``interval``).
            One pair's meta-gradient has no reliable sign at the start, and
            a run tends to keep the direction its first steps take
            (docs/benchmark/easy_regime.md, sections 15–17); the number of
            teach batches in one pass over the teach split is a natural
            choice. Each warm-up iteration costs one look-ahead.
        lookahead_params: θ_S, the parameters the look-ahead differentiates
            through: ``'head'`` (every head carrying an L2T module),
            ``'all'``, or a list of parameter-name prefixes.
        lookahead_lr: learning rate of the look-ahead step; ``None`` takes
            each parameter group's current one. The look-ahead steps with
            the student optimizer's own rule either way (momentum, weight
            decay; :class:`~l2t_mm.engine.student_step.StudentStep`).
        lookahead_steps: k, look-ahead steps per teach step.
        lookahead_max_grad_norm: clip the look-ahead gradient to this total
            norm, as the student's optimizer clips its own; ``'auto'`` takes
            ``max_norm`` from the optim wrapper's ``clip_grad`` (none if it
            does not clip by norm), ``None`` never clips.
        lookahead_direction_only: φ reaches the look-ahead only through
            the direction of its (clipped) gradient, not its length. A
            one-step look-ahead otherwise rewards weighting the high-loss,
            large-gradient elements up (a longer step) whenever the step
            points downhill on ℓ_val, corrupted labels included; the
            student's steps are the same either way. Off by default.
        dln_lr: β, the step size applied to the teacher's update of φ (the
            update is Adam-normalised, so β is a per-coordinate step).
        val_loss: ℓ_val, what the teacher lowers: ``'stock'`` (default) the
            model's own loss on the teach batch; ``'class_mean'`` the same
            with every class of the targets counting equally (the mean of
            each class's mean loss), for a class-mean metric such as mIoU,
            where the stock mean lets the frequent classes (background)
            decide. It needs class-index targets in every L2TLoss (softmax
            losses: mmseg decode heads): a DynamicLossHead or a sigmoid
            loss is refused before training, a regression loss or another
            reduction at the first teach step.
        teacher: config of the teacher (``num_coordinates`` is filled in):
            ``AdamTeacher`` (default: no teacher parameters, one look-ahead
            per step; it matched or beat the learned teachers in
            docs/benchmark/), ``LSTMTeacher`` (memory) or ``MLPTeacher``.
        teacher_optimizer: optimizer config for the teacher's parameters.
        restore_teacher_on_load: on ``load_from`` (not resume), also take the
            teacher and its state from the checkpoint.
        init_teacher: start from a trained teacher:
            ``dict(checkpoint=PATH, load=('teacher', 'memory', 'dln'))``,
            PATH a checkpoint of an L2T run, its run folder or a file of
            ``tools/export_teacher.py``; ``load`` picks ψ, the teacher's
            φ-shaped state (only where the DLN layout matches exactly) and
            φ (per DLN with the same module name, type, input options and
            shapes); the optional ``dlns=('bbox_head.loss_cls', )`` loads
            φ of the named DLNs only (``load`` then needs ``'dln'`` and no
            ``'memory'``). Applied in ``before_train``, after
            ``load_from``; not on resume (the checkpoint's teacher
            continues). See
            :func:`~l2t_mm.engine.teacher_transfer.apply_teacher_source`.
    """
    # After IterTimerHook (NORMAL) and EMAHook, before LoggerHook
    # (BELOW_NORMAL): a teach step's scalars land in the same iteration's log
    # row; ParamSchedulerHook (LOW) has not moved the lr yet; CheckpointHook
    # (VERY_LOW) saves the φ and ψ this iteration produced.
    priority = 55

    def __init__(self,
                 teach_dataloader: Union[dict, torch.utils.data.DataLoader,
                                         None] = None,
                 interval: int = 10,
                 start_iter: int = 0,
                 warmup_batches: int = 0,
                 lookahead_params: Union[str, Sequence[str]] = 'head',
                 lookahead_lr: Optional[float] = None,
                 lookahead_steps: int = 1,
                 lookahead_max_grad_norm: Union[str, float, None] = 'auto',
                 lookahead_direction_only: bool = False,
                 dln_lr: float = 0.01,
                 val_loss: str = 'stock',
                 teacher: Optional[dict] = None,
                 teacher_optimizer: Optional[dict] = None,
                 restore_teacher_on_load: bool = False,
                 init_teacher: Optional[dict] = None) -> None:
        if teach_dataloader is None:
            raise ValueError(
                'L2TTeacherHook.teach_dataloader is required: a dataloader of '
                'held-out training data (with annotations) that the student '
                'never trains on, e.g. the "teach" split of the built-in '
                'dataset, or HoldoutDataset(split="teach") over your '
                'training set.')
        for key, value, minimum in (('interval', interval, 1),
                                    ('lookahead_steps', lookahead_steps, 1),
                                    ('start_iter', start_iter, 0),
                                    ('warmup_batches', warmup_batches, 0)):
            if not isinstance(value, int) or value < minimum:
                raise ValueError(f'L2TTeacherHook.{key} must be an int >= '
                                 f'{minimum}, got {value!r}')
        if not (lookahead_max_grad_norm in ('auto', None) or (
                isinstance(lookahead_max_grad_norm, (int, float))
                and lookahead_max_grad_norm > 0)):
            raise ValueError(
                "L2TTeacherHook.lookahead_max_grad_norm must be 'auto', None "
                f'or a positive number, got {lookahead_max_grad_norm!r}')
        if lookahead_lr is not None and lookahead_lr <= 0:
            raise ValueError('L2TTeacherHook.lookahead_lr must be > 0 or '
                             f'None (student lr), got {lookahead_lr!r}')
        if not isinstance(dln_lr, (int, float)) or dln_lr <= 0:
            raise ValueError(
                f'L2TTeacherHook.dln_lr must be a number > 0, got {dln_lr!r}')
        require_bool(restore_teacher_on_load,
                     'L2TTeacherHook.restore_teacher_on_load')
        require_bool(lookahead_direction_only,
                     'L2TTeacherHook.lookahead_direction_only')
        if val_loss not in VAL_LOSSES:
            raise ValueError(f'L2TTeacherHook.val_loss must be one of '
                             f'{VAL_LOSSES}, got {val_loss!r}')
        self.teach_dataloader_cfg = teach_dataloader
        self.interval = interval
        self.start_iter = start_iter
        self.warmup_batches = warmup_batches
        self.lookahead_params = lookahead_params
        self.lookahead_lr = lookahead_lr
        self.lookahead_steps = lookahead_steps
        self.lookahead_max_grad_norm = lookahead_max_grad_norm
        self.lookahead_direction_only = lookahead_direction_only
        self.dln_lr = dln_lr
        self.val_loss = val_loss
        self.teacher_cfg = dict(teacher or dict(type='AdamTeacher'))
        self.teacher_optimizer_cfg = dict(
            teacher_optimizer or dict(type='Adam', lr=1e-3))
        self.restore_teacher_on_load = restore_teacher_on_load
        self.init_teacher = validate_init_teacher(init_teacher)
        # Where the teacher came from (None: fresh), kept in checkpoints.
        self.origin: Optional[dict] = None
        self.task = 'other'
        self.layout: Layout = []
        self._resumed = False  # set when a resume loaded a checkpoint
        self._loaded_from: Optional[str] = None  # load_from, if it loaded
        # load_from, if the teacher was restored from it as well.
        self._teacher_restored_from: Optional[str] = None
        self.training = False  # set in before_run: the train loop exists
        self.teacher: Optional[nn.Module] = None
        self.teacher_optimizer: Optional[torch.optim.Optimizer] = None
        self.partition: Optional[ParameterPartition] = None
        self.teach_steps = 0
        self.skipped_steps = 0
        # The warm-up's summed meta-gradients and how many pairs they hold.
        self.warmup_sum: Optional[Tensor] = None
        self.warmup_count = 0
        self.teach_batches_in_epoch = 0
        self.teach_epoch = 0
        self._teach_iterator: Optional[Iterator] = None
        self._warned_zero: set = set()
        self._warned_approximate = False
        self._said_noise_off = False
        self._loss_modules: Dict[str, nn.Module] = {}
        self._class_names: Optional[List[str]] = None
        # What the DLNs output in the student's own forward pass of the
        # current iteration, by module (read for the logs), and the element
        # weights per class since the last teach step.
        self.records: Dict[str, DLNRecord] = {}
        self._class_weights: Dict[str, ClassWeightStats] = {}
        self._student_pass = ExitStack()

    # -- policy ---------------------------------------------------------
    def should_teach(self, iteration: int) -> bool:
        """Whether to teach after (0-based) training ``iteration``, once the
        warm-up (``warmup_batches``) is over. Override it for another
        policy: the hook asks nothing else."""
        done = iteration + 1
        return done > self.start_iter and done % self.interval == 0

    def warming_up(self, iteration: int) -> bool:
        """Whether (0-based) training ``iteration`` belongs to the warm-up:
        asked for, from ``start_iter`` on, until a teach step is applied."""
        return (self.warmup_batches > 0 and self.teach_steps == 0
                and iteration + 1 > self.start_iter)

    @staticmethod
    def progress(runner, iteration: Optional[int] = None) -> float:
        """t / T, the DLNs' progress input, during training ``iteration``
        (default ``runner.iter``): the same for the student's pass and the
        teach step after it."""
        return (runner.iter if iteration is None else iteration) / \
            runner.max_iters

    # -- set-up ---------------------------------------------------------
    def before_run(self, runner) -> None:
        # Runner.test()/val() call before_run too, without a train loop:
        # there is nothing to teach, and the teach split may not exist.
        self.training = isinstance(runner._train_loop, BaseLoop)
        if not self.training:
            return
        model = self._student(runner)
        # The model's structure is fixed once built: find its L2T modules
        # once instead of walking every module twice per iteration.
        self._loss_modules = dynamic_loss_modules(model)
        refuse_untaught_weightings(self._loss_modules)
        if self.class_mean:
            refuse_class_mean_without_classes(self._loss_modules)
        self.partition = partition_parameters(model, self.lookahead_params)
        self.task = model_task(model)
        self.layout = dln_layout(model, self.partition.dln)
        dataset = getattr(runner.train_dataloader, 'dataset', None)
        classes = getattr(dataset, 'metainfo', {}).get('classes')
        self._class_names = list(classes) if classes else None
        self._class_weights = {
            name: ClassWeightStats(len(classes) if classes else None)
            for name in self._loss_modules
        }
        params = dict(model.named_parameters())
        num_coordinates = sum(params[name].numel()
                              for name in self.partition.dln)
        reference = params[self.partition.dln[0]]
        self.teacher = MODELS.build(
            dict(self.teacher_cfg, num_coordinates=num_coordinates)).to(
                device=reference.device, dtype=reference.dtype)
        self.teacher_optimizer = OPTIMIZERS.build(
            dict(self.teacher_optimizer_cfg,
                 params=self.teacher.parameters())
        ) if self.teacher.learnable else None
        if isinstance(self.teach_dataloader_cfg, dict):
            self.teach_dataloader = runner.build_dataloader(
                self.teach_dataloader_cfg, seed=runner.seed)
        else:
            self.teach_dataloader = self.teach_dataloader_cfg
        if len(self.teach_dataloader) == 0:
            raise ValueError(
                'L2TTeacherHook.teach_dataloader is empty: its dataset has no '
                'samples (check ann_file/data_prefix, and that filter_cfg '
                'does not drop every image) or batch_size exceeds the dataset '
                'with drop_last=True.')
        runner.logger.info(
            f'L2T: teaching {len(self.partition.dln_by_module)} DLN(s) '
            f'({num_coordinates} parameters) with '
            f'{type(self.teacher).__name__} every {self.interval} iters; '
            f'look-ahead through {len(self.partition.student)} tensors '
            f'({self.lookahead_params!r}); ℓ_val: {self.val_loss}.'
            + (f' The first teach step sums {self.warmup_batches} batch '
               "pairs' meta-gradients (warm-up, one look-ahead per "
               f'iteration from iter {self.start_iter + 1}; the teach split '
               f'has {len(self.teach_dataloader)} batches).'
               if self.warmup_batches else ''))
        if self.start_iter + self.warmup_batches > runner.max_iters:
            runner.logger.warning(
                f'L2T: start_iter={self.start_iter} + warmup_batches='
                f'{self.warmup_batches} exceeds max_iters='
                f'{runner.max_iters}: the warm-up cannot end, so φ never '
                'moves. Lower warmup_batches or start_iter.')

    def before_train(self, runner) -> None:
        # Here, not in before_run: Runner.train() initialises the weights
        # (DLNs included) and loads load_from/resume checkpoints in between.
        if not self.training or self.init_teacher is None:
            return
        path = self.init_teacher['checkpoint']
        if self._resumed:
            runner.logger.info(
                f'L2T: init_teacher ({path}) not applied: the run resumed, '
                "so the checkpoint's teacher continues.")
            return
        try:
            summary = apply_teacher_source(
                read_teacher_source(path), self.init_teacher['load'],
                self.teacher, self.teacher_cfg, self._dlns(), self.layout,
                self.task, restored=self._teacher_restored_from,
                selected=self.init_teacher['dlns'])
        except TeacherSourceError as error:
            raise ValueError(f'L2TTeacherHook.init_teacher: {error}') from None
        self.origin = dict(checkpoint=path,
                           load=list(self.init_teacher['load']),
                           dlns=(None if self.init_teacher['dlns'] is None
                                 else list(self.init_teacher['dlns'])),
                           summary=summary)
        if self._loaded_from is not None:
            summary += (f' Applied after load_from={self._loaded_from}: '
                        'these parts replace what it set.')
        runner.logger.info(summary)

    def _dlns(self) -> Dict[str, nn.Module]:
        return {name: module.dln
                for name, module in self._loss_modules.items()}

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if not self.training:
            return
        # The student's own forward pass of this iteration sees its progress
        # and is recorded for the logs until after_train_iter closes the
        # block; the teach step's passes come after it and set their own.
        self.records = {
            name: DLNRecord(classes=self._class_weights[name])
            for name in self._loss_modules
        }
        self._student_pass.enter_context(
            loss_context(self._loss_modules, progress=self.progress(runner),
                         records=self.records))

    # -- the teach step -------------------------------------------------
    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if not self.training:
            return
        self._student_pass.close()
        self._log_dln_weights(runner)
        model = self._student(runner)
        if self.warming_up(runner.iter):
            if self.warmup_count + 1 < self.warmup_batches:
                self._accumulate(runner, model, data_batch)
                return
            # The warm-up's last pair: its step comes now, on or off the
            # interval, and is retried at the next iteration if skipped.
            self._write_class_weights(runner, runner.iter + 1)
            self._teach(runner, model, data_batch, warmup=True)
        elif self.should_teach(runner.iter):
            self._write_class_weights(runner, runner.iter + 1)
            self._teach(runner, model, data_batch)

    def after_train(self, runner) -> None:
        # The iterations after the last teach step form a last window.
        if self.training:
            self._write_class_weights(runner, runner.iter)

    def _batch_pair(self, runner, model: nn.Module, data_batch) -> tuple:
        """This iteration's training batch and the next teach batch,
        preprocessed, and the student's optimizer step to look ahead with:
        what a teach step and a warm-up pair both start from."""
        return (model.data_preprocessor(data_batch, True),
                model.data_preprocessor(self._next_teach_batch(), True),
                self._student_step(runner, model))

    def _accumulate(self, runner, model: nn.Module, data_batch) -> None:
        """A warm-up iteration: add this batch pair's meta-gradient to the
        sum the first teach step will be made from; φ stays."""
        start = time.perf_counter()
        train_data, val_data, student_step = self._batch_pair(
            runner, model, data_batch)
        meta_grad = pair_meta_gradient(
            model, self.partition, train_data, val_data, student_step,
            self.progress(runner), self.meta_objective(runner),
            _mean_over_ranks)
        add_to_total(runner.message_hub, hub_key(WARMUP_SECONDS),
                     time.perf_counter() - start)
        if meta_grad is None:
            runner.logger.warning(
                f'L2T: warm-up batch pair at iter {runner.iter + 1} left out '
                '(non-finite loss or meta-gradient).')
            return
        self.warmup_sum = (meta_grad.clone() if self.warmup_sum is None else
                           self.warmup_sum + meta_grad)
        self.warmup_count += 1
        runner.message_hub.update_scalar(hub_key(WARMUP_BATCHES),
                                         self.warmup_count)

    def _teach(self, runner, model: nn.Module, data_batch,
               warmup: bool = False) -> None:
        """One teach step on this iteration's batch; ``warmup``: the
        warm-up's last, which adds the summed pairs."""
        start = time.perf_counter()
        train_data, val_data, student_step = self._batch_pair(
            runner, model, data_batch)
        result = teach_step(
            model, self.partition, self.teacher, self.teacher_optimizer,
            train_data, val_data, student_step=student_step,
            dln_lr=self.dln_lr,
            progress=self.progress(runner),
            objective=self.meta_objective(runner),
            reduce_mean=_mean_over_ranks,
            accumulated=self.warmup_sum if warmup else None)
        elapsed = time.perf_counter() - start
        hub = runner.message_hub
        hub.update_scalar(hub_key(TEACH_TIME), elapsed)
        if not result.applied:
            self.skipped_steps += 1
            hub.update_scalar(hub_key(SKIPPED_STEPS), self.skipped_steps)
            runner.logger.warning(
                f'L2T: skipped the teach step at iter {runner.iter + 1} '
                f'({result.skip_reason}); φ, ψ and the student are unchanged.')
            return
        self.teach_steps += 1
        hub.update_scalar(hub_key(TEACH_STEPS), self.teach_steps)
        if warmup:
            self.warmup_sum = None
            self.warmup_count += 1  # from here: the pairs the step summed
            hub.update_scalar(hub_key(WARMUP_BATCHES), self.warmup_count)
            runner.logger.info(
                f'L2T: warm-up over: the first teach step (iter '
                f'{runner.iter + 1}) summed the meta-gradients of '
                f'{self.warmup_count} batch pairs.')
        self._diagnose_noise(runner, model, train_data)
        for key in TEACH_RESULTS:
            value = getattr(result, key)
            if value == value:  # NaN: not measured (AdamTeacher: no after)
                hub.update_scalar(hub_key(teach_result_key(key)), value)
        for module in result.zero_meta_grad_modules:
            if module not in self._warned_zero:
                self._warned_zero.add(module)
                runner.logger.warning(
                    f'L2T: the DLN of {module!r} got an exactly zero '
                    'meta-gradient, so it cannot learn this step. Either its '
                    'head is not in L2TTeacherHook.lookahead_params (use '
                    "'head' or 'all'), or its loss had nothing to weight "
                    "(not computed yet, e.g. YOLOX's loss_l1 before the mode "
                    'switch, or at most one element).')

    def _diagnose_noise(self, runner, model: nn.Module,
                        train_data: dict) -> None:
        clean_data = clean_labelled(train_data)
        if clean_data is None:
            if not self._said_noise_off:
                self._said_noise_off = True
                runner.logger.info(
                    'L2T: noise diagnostic off: the training batches carry '
                    'no clean labels (see l2t_mm.datasets.clean_labels).')
            return
        reports = noise_reports(model, train_data, clean_data,
                                progress=self.progress(runner))
        record = {}
        generator = torch.Generator().manual_seed(runner.iter)
        for name, report in reports.items():
            for prefix, auc in ((NOISE_AUC_PREFIX, report.auc),
                                (NOISE_AUC_WITHIN_PREFIX,
                                 report.auc_within_target)):
                if auc == auc:  # NaN: nothing corrupted (or clean) here
                    log_noise_auc(runner.message_hub, prefix + name, auc)
            keep = torch.randperm(report.num_elements, generator=generator)
            keep = keep[:NOISE_SAMPLE_SIZE].to(report.values.device)
            record[name] = dict(
                auc=report.auc, auc_within_target=report.auc_within_target,
                elements=report.num_elements,
                corrupted_elements=report.num_corrupted,
                loss=report.values[keep].tolist(),
                weight=report.weights[keep].tolist(),
                corrupted=report.corrupted[keep].tolist())
        if record and is_main_process():
            with open(osp.join(runner.log_dir, NOISE_ELEMENTS_FILE),
                      'w') as file:
                json.dump(dict(iter=runner.iter + 1, modules=record), file)

    def _student(self, runner) -> nn.Module:
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def _student_step(self, runner, model: nn.Module) -> StudentStep:
        params = dict(model.named_parameters())
        step = StudentStep(
            getattr(runner.optim_wrapper, 'optimizer', None),
            {name: params[name] for name in self.partition.student},
            self.lookahead_lr)
        if step.approximate and not self._warned_approximate:
            self._warned_approximate = True
            runner.logger.warning(
                'L2T: the look-ahead cannot reproduce the student optimizer '
                f'{type(runner.optim_wrapper.optimizer).__name__} '
                'differentiably; it steps as ' + step.describe() + '.')
        return step

    @property
    def class_mean(self) -> bool:
        """Whether ℓ_val is the class mean (``val_loss='class_mean'``)."""
        return self.val_loss == 'class_mean'

    def meta_objective(self, runner) -> MetaObjective:
        """What the teach step differentiates under ``runner``, from this
        hook's options (``lookahead_max_grad_norm='auto'`` resolved against
        the optim wrapper's clip); the meta-gradient probe and the zoo's
        teaching check take the same value."""
        return MetaObjective(
            lookahead_steps=self.lookahead_steps,
            max_grad_norm=self._lookahead_clip(runner),
            direction_only=self.lookahead_direction_only,
            class_mean=self.class_mean)

    def _lookahead_clip(self, runner) -> Optional[float]:
        if self.lookahead_max_grad_norm != 'auto':
            return self.lookahead_max_grad_norm
        wrapper = runner.optim_wrapper
        clip = getattr(wrapper, 'clip_grad_kwargs', None)
        if clip and getattr(wrapper, 'grad_name', None) == 'grad_norm':
            return float(clip['max_norm'])
        return None

    def _next_teach_batch(self):
        if self._teach_iterator is None:
            self._teach_iterator = self._fresh_iterator()
        try:
            batch = next(self._teach_iterator)
        except StopIteration:
            self.teach_epoch += 1
            self.teach_batches_in_epoch = 0
            self._teach_iterator = self._fresh_iterator()
            batch = next(self._teach_iterator)
        self.teach_batches_in_epoch += 1
        return batch

    def _fresh_iterator(self) -> Iterator:
        sampler = getattr(self.teach_dataloader, 'sampler', None)
        if hasattr(sampler, 'set_epoch'):
            sampler.set_epoch(self.teach_epoch)
        return iter(self.teach_dataloader)

    def _log_dln_weights(self, runner) -> None:
        hub = runner.message_hub
        for name, record in self.records.items():
            for stat, value in record.summary().items():
                hub.update_scalar(hub_key(weight_key(name, stat)),
                                  float(value))
            slope = record.hidden_slope()
            if slope is not None:
                hub.update_scalar(hub_key(SLOPE_PREFIX + name), float(slope))

    def _write_class_weights(self, runner, iteration: int) -> None:
        """Append the mean weight per class since the last teach step (all
        ranks' batches), as of ``iteration`` (1-based), and start the next
        window; nothing if the window is empty."""
        record = {}
        for name, stats in self._class_weights.items():
            summary = stats.summary()
            stats.reset()
            if not summary:  # the same on every rank: same model and losses
                continue
            sums, counts = summary['sum'].clone(), summary['count'].clone()
            if get_world_size() > 1:
                all_reduce(sums, op='sum')
                all_reduce(counts, op='sum')
            record[name] = dict(
                mean=[total / count if count else None
                      for total, count in zip(sums.tolist(), counts.tolist())],
                count=[int(count) for count in counts.tolist()])
        if not record or not is_main_process():
            return
        line = dict(iter=iteration, classes=self._class_names,
                    modules=record)
        with open(osp.join(runner.log_dir, CLASS_WEIGHTS_FILE), 'a') as file:
            file.write(json.dumps(line) + '\n')

    # -- checkpoints ----------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # Runs on rank 0 only: no collective calls here.
        if not self.training:
            return
        checkpoint[CHECKPOINT_KEY] = dict(
            teacher_record(self.teacher, self.teacher_cfg, self._dlns(),
                           self.layout, self.task, self.origin),
            optimizer=(self.teacher_optimizer.state_dict()
                       if self.teacher_optimizer is not None else None),
            teach_steps=self.teach_steps,
            skipped_steps=self.skipped_steps,
            warmup_count=self.warmup_count,
            warmup_sum=self.warmup_sum,
            teach_epoch=self.teach_epoch,
            teach_batches_in_epoch=self.teach_batches_in_epoch)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # φ is part of the model's state dict and already loaded. The
        # teacher is restored on resume, or on load_from when asked to;
        # only a resume continues the teach loader where it was.
        if not self.training:
            return
        resume = bool(runner._resume)
        self._resumed = resume
        self._loaded_from = None if resume else str(runner._load_from)
        if not (resume or self.restore_teacher_on_load):
            runner.logger.info(
                f'L2T: {self._phi_loaded(checkpoint)}; the teacher starts '
                'fresh (set L2TTeacherHook.restore_teacher_on_load=True to '
                'take it from the checkpoint too).')
            return
        state: Dict = checkpoint.get(CHECKPOINT_KEY)
        if state is None:
            runner.logger.info('L2T: the checkpoint has no teacher state; '
                               'the teacher starts fresh.')
            return
        self._load_teacher(state)
        if not resume:
            self._teacher_restored_from = self._loaded_from
            message = ('L2T: took the teacher from the checkpoint '
                       '(restore_teacher_on_load=True).')
            runner.logger.info(message)
            self.origin = dict(checkpoint=self._loaded_from,
                               load=['teacher', 'memory'], summary=message)
            return
        self.origin = state.get('init_teacher')  # older entries: unknown
        self.teach_steps = state['teach_steps']
        self.skipped_steps = state['skipped_steps']
        # Older entries have no warm-up: none was asked for.
        self.warmup_count = state.get('warmup_count', 0)
        saved_sum = state.get('warmup_sum')
        self.warmup_sum = (None if saved_sum is None else
                           saved_sum.to(self.teacher.steps))
        self._check_resumed_warmup(runner)
        self.teach_epoch = state['teach_epoch']
        # Replay the teach loader to where it was, so a resumed run sees the
        # same teach batches as an uninterrupted one.
        self._teach_iterator = self._fresh_iterator()
        for _ in range(state['teach_batches_in_epoch']):
            next(self._teach_iterator)
        self.teach_batches_in_epoch = state['teach_batches_in_epoch']

    def _check_resumed_warmup(self, runner) -> None:
        """Say what happens to a warm-up the checkpoint was saved in, where
        ``warmup_batches`` changed since."""
        if self.warmup_sum is None:
            return
        if not self.warmup_batches:
            runner.logger.warning(
                f'L2T: the checkpoint was saved within a warm-up '
                f'({self.warmup_count} batch pairs summed), but '
                'warmup_batches=0 now: the sum is dropped and the first '
                'teach step uses one pair.')
            self.warmup_sum, self.warmup_count = None, 0
        elif self.warmup_count >= self.warmup_batches:
            runner.logger.warning(
                f'L2T: the checkpoint\'s warm-up summed '
                f'{self.warmup_count} batch pairs, more than '
                f'warmup_batches={self.warmup_batches} now: the first teach '
                f'step, at the next iteration, adds all of them.')

    def _phi_loaded(self, checkpoint: dict) -> str:
        """Which DLNs' φ came with the model's weights."""
        saved = model_state_dict(checkpoint)
        modules = self.partition.dln_by_module
        loaded = [module for module, names in modules.items()
                  if all(name in saved for name in names)]
        if not loaded:
            return ('the checkpoint has no DLN parameters (a baseline or '
                    'stock model?), so φ starts at its initial identity')
        if len(loaded) == len(modules):
            return f'loaded φ of all {len(modules)} DLN(s) with the model'
        return (f'loaded φ of {len(loaded)} of {len(modules)} DLNs with the '
                f'model ({", ".join(loaded)}); the others start at identity')

    def _load_teacher(self, state: Dict) -> None:
        saved_type = state.get('teacher_type', 'LSTMTeacher')
        own_type = type(self.teacher).__name__
        difference = teacher_state_difference(state['teacher'],
                                              self.teacher)
        if saved_type != own_type or difference:
            detail = ('another teacher type' if saved_type != own_type else
                      f'{difference} here')
            raise ValueError(
                f'L2T: the checkpoint teacher ({saved_type}) does not fit '
                f'this {own_type} ({detail}): the DLNs or the '
                'teacher config changed since it was saved. Use the same '
                'config, or drop the "l2t_teacher" entry of the checkpoint '
                'to start fresh.')
        self.teacher.load_state_dict(state['teacher'])
        if self.teacher_optimizer is not None:
            self.teacher_optimizer.load_state_dict(state['optimizer'])
