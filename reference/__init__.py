"""NumPy reference of the layers every profile grades: conv2d, max/avg pooling, flatten.

Pure functions of arrays, NCHW, forward and backward side by side; the
``*_naive`` loop versions are the specification of the fast ones. Proven
against ``torch.nn.functional`` (float64, autograd), central finite differences
and first-order directional derivatives in ``tests/``.
"""
from reference.conv import (
    conv2d_backward,
    conv2d_backward_naive,
    conv2d_forward,
    conv2d_forward_naive,
    resolve_padding,
)
from reference.flatten import flatten_backward, flatten_forward, flatten_forward_naive
from reference.pool import (
    TIE_POLICIES,
    avgpool2d_backward,
    avgpool2d_backward_naive,
    avgpool2d_forward,
    avgpool2d_forward_naive,
    maxpool2d_backward,
    maxpool2d_backward_naive,
    maxpool2d_forward,
    maxpool2d_forward_naive,
)
from reference._windows import output_size

__all__ = [
    "TIE_POLICIES",
    "avgpool2d_backward",
    "avgpool2d_backward_naive",
    "avgpool2d_forward",
    "avgpool2d_forward_naive",
    "conv2d_backward",
    "conv2d_backward_naive",
    "conv2d_forward",
    "conv2d_forward_naive",
    "flatten_backward",
    "flatten_forward",
    "flatten_forward_naive",
    "maxpool2d_backward",
    "maxpool2d_backward_naive",
    "maxpool2d_forward",
    "maxpool2d_forward_naive",
    "output_size",
    "resolve_padding",
]
