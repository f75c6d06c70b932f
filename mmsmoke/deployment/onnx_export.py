"""ONNX export of mmsmoke segmentors and its check with onnxruntime.

The exported graph is :class:`SegmentorExportWrapper`'s whole-image forward
(logits, plus the sampling-free uncertainty maps of Transmission-BVM or the
focus/separation maps of FoSp), traced at a fixed input size with the
TorchScript-based exporter, ``torch.onnx.export(..., dynamo=False)`` (the
``torch.export`` based exporter needs the onnxscript package and is not
used). The input is the batch *after* the data pre-processor; the
normalisation and the decision threshold are written into the model's
metadata (key ``mmsmoke``, JSON).

**Antialiased resize.** FoSp's separation module shrinks the image to its
working size, and its Domain Fusion head shrinks the foreground tensor,
with ``F.interpolate(..., mode='bilinear', antialias=True)``. PyTorch
traces this as ``aten::_upsample_bilinear2d_aa``, for which the exporter
has no symbolic at any opset. ONNX has the same operation since opset 18:
``Resize`` with ``mode='linear'`` and ``antialias=1``; with
``exclude_outside=1`` (the filter weights of taps outside the image are
dropped and the rest renormalised, as PyTorch does) onnxruntime matches
PyTorch to about 1e-6 (for ``align_corners=False``, which the models
use; ``align_corners=True`` places the filter differently and is refused).
:func:`antialias_resize_symbolic` registers that
mapping for the duration of an export, so the models need no export-only
branch; FoSp therefore needs ``opset >= 18`` (the default here), while
Transmission-BVM and the stock models export from opset 13 on. The
sizes must be static, as they are for a traced fixed input size.

**Adaptive average pooling.** The exporter turns ``AdaptiveAvgPool2d`` to
sizes other than 1x1 into a fixed ``AveragePool`` only when it still knows
the input size and the input size is a multiple of the output size; MMSeg's
pyramid pooling (UPerHead, PSPHead) after an mmpretrain ConvNeXt fails
("input size not accessible"). The export therefore works on a copy of the
model in which each such layer is replaced by
:class:`~mmsmoke.deployment.static_adaptive_avg_pool.StaticAdaptiveAvgPool2d`,
the same pooling written as two products with constant averaging matrices
(exact; the graph is traced at a fixed size anyway). Pooling to 1x1
(``GlobalAveragePool``) is left alone. Functional
``F.adaptive_avg_pool2d`` calls are not replaced. :func:`verify_onnx`
compares the graph with the original, unmodified model.

The transmission-coherence loss, the only custom autograd function of the
package, is a training loss and is not part of any inference graph.
"""
import copy
import json
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from .export_wrapper import SegmentorExportWrapper
from .static_adaptive_avg_pool import replace_adaptive_avg_pools

#: The opset from which ``Resize`` supports ``antialias``.
ANTIALIAS_OPSET = 18
#: The oldest opset this module exports to.
MIN_OPSET = 13
DEFAULT_OPSET = 18
_AA_OP = 'aten::_upsample_bilinear2d_aa'


def _antialias_bilinear(g, input, output_size, align_corners, scale_factors):
    """Symbolic of ``aten::_upsample_bilinear2d_aa`` as ONNX ``Resize``."""
    from torch.onnx import symbolic_helper
    size = symbolic_helper._maybe_get_const(output_size, 'is')
    corners = symbolic_helper._maybe_get_const(align_corners, 'b')
    if not isinstance(size, (list, tuple)) or not all(
            isinstance(s, int) for s in size):
        raise RuntimeError(
            'antialiased resize with a dynamic output size cannot be '
            'exported; export at a fixed input size')
    if corners is not False:
        # ONNX places the antialiasing filter differently from PyTorch
        # with aligned corners (differences of 0.1 on values in [0, 1]).
        raise RuntimeError(
            'antialiased resize with align_corners=True has no matching '
            'ONNX Resize; use align_corners=False')
    sizes = g.op(
        'Constant', value_t=torch.tensor(list(size), dtype=torch.int64))
    empty = g.op('Constant', value_t=torch.tensor([], dtype=torch.float32))
    return g.op(
        'Resize',
        input,
        empty,
        empty,
        sizes,
        mode_s='linear',
        antialias_i=1,
        exclude_outside_i=1,
        axes_i=[2, 3],
        coordinate_transformation_mode_s='half_pixel')


@contextmanager
def antialias_resize_symbolic() -> Iterator[None]:
    """Map antialiased bilinear resizes to ONNX ``Resize`` while exporting.

    The symbolic is registered for opset 18 and newer; an export to an
    older opset then fails with the exporter's "supported from opset 18"
    error for models that need it.
    """
    torch.onnx.register_custom_op_symbolic(_AA_OP, _antialias_bilinear,
                                           ANTIALIAS_OPSET)
    try:
        yield
    finally:
        torch.onnx.unregister_custom_op_symbolic(_AA_OP, ANTIALIAS_OPSET)


def export_metadata(segmentor: nn.Module,
                    output_names: Sequence[str]) -> Dict[str, object]:
    """What a runtime needs besides the graph: pre-processing, threshold.

    Args:
        segmentor (nn.Module): The segmentor.
        output_names (Sequence[str]): Names of the graph outputs.

    Returns:
        dict: ``mean``, ``std`` (per channel, in the order the graph
        expects), ``bgr_to_rgb`` (whether the pre-processor flips the
        loaded BGR image), ``threshold`` of the sigmoid probability (one
        output channel) and ``outputs``.
    """
    pre = segmentor.data_preprocessor
    meta: Dict[str, object] = dict(
        input='normalised image (x - mean) / std, (N, 3, H, W), float32',
        bgr_to_rgb=bool(getattr(pre, 'channel_conversion', False)),
        outputs=list(output_names))
    if getattr(pre, '_enable_normalize', False):
        meta['mean'] = [round(float(v), 6) for v in pre.mean.flatten()]
        meta['std'] = [round(float(v), 6) for v in pre.std.flatten()]
    head = getattr(segmentor, 'decode_head', None)
    if head is not None:
        meta['out_channels'] = int(head.out_channels)
        if getattr(head, 'threshold', None) is not None:
            meta['threshold'] = float(head.threshold)
    return meta


def export_onnx(segmentor: nn.Module,
                out_file: str,
                shape: Tuple[int, int],
                batch_size: int = 1,
                opset: int = DEFAULT_OPSET,
                inputs: Optional[Tensor] = None) -> List[str]:
    """Export a segmentor's whole-image forward to ONNX.

    Args:
        segmentor (nn.Module): A built segmentor; it is put in eval mode.
        out_file (str): Path of the ``.onnx`` file.
        shape (tuple[int, int]): Input height and width (fixed in the
            graph).
        batch_size (int): Batch size of the graph. Defaults to 1.
        opset (int): ONNX opset, >= 13. Defaults to 18.
        inputs (Tensor, optional): Example input to trace with; random
            normal values of the right shape by default.

    Returns:
        list[str]: The output names of the graph (input name ``input``).
    """
    if opset < MIN_OPSET:
        raise ValueError(f'opset must be >= {MIN_OPSET}, got {opset}')
    height, width = (int(s) for s in shape)
    if height <= 0 or width <= 0 or batch_size <= 0:
        raise ValueError('shape and batch_size must be positive, got '
                         f'{shape} and {batch_size}')
    segmentor.eval()
    # export-only copy: adaptive pooling becomes constant matrix products
    traced = copy.deepcopy(segmentor)
    replace_adaptive_avg_pools(traced)
    wrapper = SegmentorExportWrapper(traced).eval()
    if inputs is None:
        device = next(segmentor.parameters()).device
        inputs = torch.randn(batch_size, 3, height, width, device=device)
    names = list(wrapper.output_names)
    with torch.no_grad(), antialias_resize_symbolic():
        try:
            torch.onnx.export(
                wrapper, (inputs, ),
                out_file,
                input_names=['input'],
                output_names=names,
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False)
        except torch.onnx.errors.UnsupportedOperatorError as err:
            if _AA_OP in str(err):
                raise RuntimeError(
                    f'{type(segmentor).__name__} resizes with antialiasing, '
                    f'which ONNX supports from opset {ANTIALIAS_OPSET}; '
                    f'export with opset >= {ANTIALIAS_OPSET} (got {opset})'
                ) from err
            raise
    import onnx
    model = onnx.load(out_file)
    entry = model.metadata_props.add()
    entry.key = 'mmsmoke'
    entry.value = json.dumps(export_metadata(segmentor, names))
    onnx.checker.check_model(model)
    onnx.save(model, out_file)
    return names


def run_onnxruntime(onnx_file: str, inputs: Tensor) -> Dict[str, np.ndarray]:
    """Run an exported graph with onnxruntime on the CPU.

    Args:
        onnx_file (str): The ``.onnx`` file.
        inputs (Tensor): The input batch.

    Returns:
        dict[str, np.ndarray]: Outputs by name.
    """
    import onnxruntime as ort
    session = ort.InferenceSession(
        onnx_file, providers=['CPUExecutionProvider'])
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, {'input': inputs.detach().cpu().numpy()})
    return dict(zip(names, values))


def verify_onnx(segmentor: nn.Module,
                onnx_file: str,
                inputs: Tensor,
                atol: float = 1e-4,
                rtol: float = 1e-3) -> Dict[str, float]:
    """Compare onnxruntime's outputs with PyTorch's on the same input.

    Args:
        segmentor (nn.Module): The exported segmentor (eval mode).
        onnx_file (str): The ``.onnx`` file.
        inputs (Tensor): Input batch of the exported shape.
        atol (float): Absolute tolerance. Defaults to 1e-4.
        rtol (float): Relative tolerance. Defaults to 1e-3.

    Returns:
        dict[str, float]: Largest absolute difference of each output.

    Raises:
        AssertionError: When an output is missing, has another shape, or
            differs beyond ``atol + rtol * |reference|``.
    """
    wrapper = SegmentorExportWrapper(segmentor.eval()).eval()
    with torch.no_grad():
        expected = wrapper(inputs)
    got = run_onnxruntime(onnx_file, inputs)
    diffs: Dict[str, float] = {}
    for name, ref in zip(wrapper.output_names, expected):
        ref = ref.detach().cpu().numpy()
        if name not in got:
            raise AssertionError(f'{onnx_file} has no output {name!r}')
        out = got[name]
        if out.shape != ref.shape:
            raise AssertionError(f'output {name!r}: onnxruntime shape '
                                 f'{out.shape}, PyTorch {ref.shape}')
        diffs[name] = float(np.abs(out - ref).max())
        if not np.allclose(out, ref, atol=atol, rtol=rtol):
            raise AssertionError(
                f'output {name!r} differs from PyTorch: max |diff| '
                f'{diffs[name]:.3g} > atol {atol} + rtol {rtol} * |ref|')
    return diffs
