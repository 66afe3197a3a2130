"""``HoldoutDataset``: split a training set once into a train and a teach
part, so the teacher's held-out batches come from data the student never
trains on (docs/method.md, "Held-out data")."""
from typing import List, Union

import torch
from mmengine.registry import DATASETS
from torch.utils.data import Dataset


@DATASETS.register_module()
class HoldoutDataset(Dataset):
    """One side of a fixed, seeded split of ``dataset``.

    The same ``dataset``, ``fraction`` and ``seed`` give the same split in
    every process and run, so the two sides never overlap: wrap the training
    dataloader's dataset with ``split='train'`` and the teach dataloader's
    with ``split='teach'``.

    Args:
        dataset: config (or instance) of the dataset to split.
        fraction: share of ``dataset`` held out for teaching, in (0, 1).
        split: ``'train'`` (the rest) or ``'teach'`` (the held-out share).
        seed: seed of the permutation that picks the held-out samples.
    """

    def __init__(self, dataset: Union[dict, Dataset], fraction: float = 0.1,
                 split: str = 'train', seed: int = 0) -> None:
        if not 0 < fraction < 1:
            raise ValueError('HoldoutDataset.fraction must be in (0, 1), got '
                             f'{fraction!r}')
        if split not in ('train', 'teach'):
            raise ValueError("HoldoutDataset.split must be 'train' or "
                             f"'teach', got {split!r}")
        self.dataset = DATASETS.build(dataset) if isinstance(dataset,
                                                             dict) else dataset
        self.fraction = fraction
        self.split = split
        self.seed = seed
        self.indices = self._split_indices()
        if not self.indices:
            raise ValueError(
                f'HoldoutDataset: the {split!r} side of {len(self.dataset)} '
                f'samples with fraction={fraction} is empty; change '
                'HoldoutDataset.fraction.')

    def _split_indices(self) -> List[int]:
        generator = torch.Generator().manual_seed(self.seed)
        order = torch.randperm(len(self.dataset), generator=generator)
        num_teach = round(self.fraction * len(self.dataset))
        side = order[:num_teach] if self.split == 'teach' else order[
            num_teach:]
        return sorted(side.tolist())

    @property
    def metainfo(self) -> dict:
        return getattr(self.dataset, 'metainfo', {})

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int):
        return self.dataset[self.indices[index]]

    def get_data_info(self, index: int) -> dict:
        """mmengine/mmdet samplers and tools read raw infos through this."""
        if not hasattr(self.dataset, 'get_data_info'):
            raise TypeError(
                'HoldoutDataset.get_data_info: the dataset inside '
                f'({type(self.dataset).__name__}) has no get_data_info; wrap '
                'an mmengine BaseDataset or one of its wrappers')
        return self.dataset.get_data_info(self.indices[index])
