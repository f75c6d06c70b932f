"""Visualizer that draws smoke masks next to the models' extra maps."""
from typing import Dict, List, Optional, Sequence

import mmcv
import numpy as np
from mmengine.dist import master_only
from mmseg.registry import VISUALIZERS
from mmseg.structures import SegDataSample
from mmseg.visualization import SegLocalVisualizer

from mmsmoke.datasets.base_smoke_dataset import SMOKE_METAINFO
from mmsmoke.utils.sample_maps import extra_maps, smoke_probability
from .drawing import (COLORMAPS, SMOKE_COLOR, draw_smoke_overlay, map_to_rgb,
                      put_title, resize_to, tile_panels)


@VISUALIZERS.register_module()
class SmokeLocalVisualizer(SegLocalVisualizer):
    """Smoke overlay plus probability, focus, separation and uncertainty.

    ``add_datasample`` draws a grid of panels, all at the size of the given
    image:

    1. ``ground truth``: the image with the ground-truth smoke tinted and
       outlined (when ``draw_gt`` and the sample has ``gt_sem_seg``);
    2. ``prediction``: the same for ``pred_sem_seg`` (when ``draw_pred``);
    3. ``probability``: the smoke probability from ``seg_logits`` as a
       colour map (``draw_probability``);
    4. every extra map the sample carries (``map_fields``): FoSp's
       ``pred_focus``, ``pred_alpha`` (colour maps) and ``pred_foreground``,
       ``pred_background`` (RGB layers); Transmission-BVM's
       ``pred_uncertainty_{total,aleatoric,epistemic}`` (colour maps).

    Colour maps use the fixed range [0, 1] (probabilities, opacities,
    entropies in bits), so a colour means the same value in every image.
    Smoke is tinted with the dataset palette's smoke colour (class 1) and
    the background is left untouched.

    It is a drop-in replacement of ``SegLocalVisualizer`` in a config
    (``visualizer = dict(type='SmokeLocalVisualizer', ...)``, see
    ``configs/_base_/visualizer_smoke.py``): MMSeg's
    ``SegVisualizationHook`` (``tools/test.py --show-dir``) and mmengine's
    visual backends (``LocalVisBackend``, ``TensorboardVisBackend``, ...)
    use it unchanged.

    Args:
        name (str): Instance name. Defaults to 'visualizer'.
        image (np.ndarray, optional): Image to draw on (RGB).
        vis_backends (list[dict], optional): Visual backend configs.
        save_dir (str, optional): Directory of the backends' files.
        classes (list, optional): Class names; default to the smoke
            dataset's ``('background', 'smoke')``.
        palette (list, optional): Class colours (RGB); default to the smoke
            dataset's palette.
        dataset_name (str, optional): MMSeg dataset name for the meta.
        alpha (float): Opacity of the smoke tint. Defaults to 0.5.
        map_fields (Sequence[str], optional): Data-sample fields drawn after
            the overlays, in order; fields a sample lacks are skipped. None
            draws every ``pred_*`` map present (known ones first).
        draw_probability (bool): Draw the probability panel. Defaults to
            True.
        colormap (str): Colour map of single-channel maps, one of
            :data:`~mmsmoke.visualization.drawing.COLORMAPS`. Defaults to
            'inferno'.
        panels_per_row (int): Grid width in panels. Defaults to 4.
        draw_titles (bool): Write each panel's name on it. Defaults to True.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[List[dict]] = None,
                 save_dir: Optional[str] = None,
                 classes: Optional[List] = None,
                 palette: Optional[List] = None,
                 dataset_name: Optional[str] = None,
                 alpha: float = 0.5,
                 map_fields: Optional[Sequence[str]] = None,
                 draw_probability: bool = True,
                 colormap: str = 'inferno',
                 panels_per_row: int = 4,
                 draw_titles: bool = True,
                 **kwargs) -> None:
        if colormap not in COLORMAPS:
            raise ValueError(f'SmokeLocalVisualizer: unknown colormap '
                             f'{colormap!r}; choose from {sorted(COLORMAPS)}')
        if panels_per_row < 1:
            raise ValueError('SmokeLocalVisualizer: panels_per_row must be '
                             f'>= 1, got {panels_per_row}')
        super().__init__(
            name=name,
            image=image,
            vis_backends=vis_backends,
            save_dir=save_dir,
            classes=classes,
            palette=palette,
            dataset_name=dataset_name,
            alpha=alpha,
            **kwargs)
        # SegLocalVisualizer.__init__ passes palette and classes to
        # set_dataset_meta in swapped order; set them again correctly.
        self.set_dataset_meta(classes, palette, dataset_name)
        self.map_fields = None if map_fields is None else list(map_fields)
        self.draw_probability = draw_probability
        self.colormap = colormap
        self.panels_per_row = panels_per_row
        self.draw_titles = draw_titles

    def set_dataset_meta(self,
                         classes: Optional[List] = None,
                         palette: Optional[List] = None,
                         dataset_name: Optional[str] = None) -> None:
        """Set classes and palette; smoke meta replaces MMSeg's default.

        MMSeg falls back to Cityscapes when nothing is given (as
        ``MMSegInferencer`` does on start-up); here the fallback is the
        smoke dataset meta.
        """
        if not classes and not palette and dataset_name is None:
            classes = list(SMOKE_METAINFO['classes'])
            palette = [list(c) for c in SMOKE_METAINFO['palette']]
        super().set_dataset_meta(classes, palette, dataset_name)

    # ----------------------------------------------------------- helpers
    def _smoke_color(self) -> Sequence[int]:
        palette = self.dataset_meta.get('palette') or []
        if len(palette) > 1:
            return tuple(int(c) for c in palette[1])
        return SMOKE_COLOR

    def _panel(self, image: np.ndarray, title: str) -> np.ndarray:
        return put_title(image, title) if self.draw_titles else image

    def draw_panels(self,
                    image: np.ndarray,
                    data_sample: SegDataSample,
                    draw_gt: bool = True,
                    draw_pred: bool = True) -> Dict[str, np.ndarray]:
        """Render every panel of a sample without tiling them.

        Args:
            image (np.ndarray): (H, W, 3) uint8 RGB image.
            data_sample (SegDataSample): Sample with ground truth and/or
                predictions.
            draw_gt (bool): Render the ground-truth overlay.
            draw_pred (bool): Render the prediction overlay and the maps.

        Returns:
            dict[str, np.ndarray]: Panel title to (H, W, 3) RGB image, in
            drawing order.
        """
        image = np.ascontiguousarray(image)
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        shape = image.shape[:2]
        color = self._smoke_color()
        panels: Dict[str, np.ndarray] = {}
        if draw_gt and 'gt_sem_seg' in data_sample:
            gt = data_sample.gt_sem_seg.cpu().data
            gt = np.asarray(gt)[0]
            panels['ground truth'] = draw_smoke_overlay(
                image, gt == 1, color, self.alpha)
        if draw_pred and 'pred_sem_seg' in data_sample:
            pred = np.asarray(data_sample.pred_sem_seg.cpu().data)[0]
            panels['prediction'] = draw_smoke_overlay(image, pred == 1, color,
                                                      self.alpha)
        if draw_pred:
            if self.draw_probability and 'seg_logits' in data_sample:
                prob = resize_to(smoke_probability(data_sample), shape)
                panels['probability'] = map_to_rgb(prob, self.colormap)
            for map_name, values in extra_maps(data_sample,
                                               self.map_fields).items():
                rgb = map_to_rgb(values, self.colormap)
                panels[map_name.replace('_', ' ')] = resize_to(rgb, shape)
        return panels

    @master_only
    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[SegDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0,
                       with_labels: Optional[bool] = True) -> None:
        """Draw a sample's panels and send them to the backends.

        Same contract as ``SegLocalVisualizer.add_datasample``: with
        ``show`` the grid is displayed; with ``out_file`` it is written
        there (and not to the backends); otherwise every backend receives
        it through ``add_image(name, image, step)``.

        Args:
            name (str): Image identifier.
            image (np.ndarray): (H, W, 3) uint8 RGB image.
            data_sample (SegDataSample, optional): Ground truth and/or
                predictions. None draws the image alone.
            draw_gt (bool): Draw the ground-truth overlay. Defaults to True.
            draw_pred (bool): Draw the prediction and its maps. Defaults to
                True.
            show (bool): Display the drawing. Defaults to False.
            wait_time (float): Display time in seconds. Defaults to 0.
            out_file (str, optional): File to write the drawing to.
            step (int): Global step for the backends. Defaults to 0.
            with_labels (bool, optional): Accepted for interface
                compatibility; panels carry titles instead of class labels.
        """
        panels = {} if data_sample is None else self.draw_panels(
            image, data_sample, draw_gt, draw_pred)
        if not panels:
            panels = {'image': np.ascontiguousarray(image)}
        tiles = [self._panel(img, title) for title, img in panels.items()]
        drawn = tile_panels(tiles, self.panels_per_row)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)
