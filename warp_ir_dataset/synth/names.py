"""Default identifiers, by role and Warp type, for what a category does not name itself.

Locals are named after the operation that computes them where the expression table says so
(``expressions.Production.names``); these tables are the fallback, and the names of arguments and
helper parameters. A name is used once per kernel: the first free candidate wins, then ``<first>2``.
"""

from __future__ import annotations

#: Locals, by type.
LOCAL_NAMES: dict[str, tuple[str, ...]] = {
    "float": ("value", "amount", "factor", "level", "weight", "signal"),
    "int": ("count", "index", "slot", "step", "offset"),
    "bool": ("flag", "is_active", "is_valid", "hit"),
    "vec2": ("uv", "planar", "pair"),
    "vec3": ("point", "direction", "offset", "vec"),
    "vec4": ("color", "plane", "quad"),
    "mat22": ("rot_2d", "basis_2d"),
    "mat33": ("basis", "frame", "tensor"),
    "mat44": ("homogeneous", "xform_mat"),
    "quat": ("rotation", "orientation", "spin"),
    "transform": ("pose", "frame_xform"),
    "spatial_vector": ("twist", "wrench"),
    "float64": ("precise", "wide_value"),
    "int64": ("wide", "wide_count"),
    "uint32": ("bits", "word", "key"),
    "vec2i": ("cell_2d", "coord_2d"),
    "vec3i": ("cell", "voxel"),
    "uint64": ("handle",),
}

#: Parameters of generated ``@wp.func`` helpers, by type.
PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "float": ("x", "t", "s", "value", "weight", "amount"),
    "int": ("n", "k", "index", "count"),
    "bool": ("flag", "enabled"),
    "vec2": ("uv", "st"),
    "vec3": ("v", "p", "d", "direction", "offset"),
    "vec4": ("c", "color"),
    "mat22": ("a", "rot"),
    "mat33": ("m", "basis", "frame"),
    "mat44": ("mat", "xform_mat"),
    "quat": ("q", "rot", "orient", "target"),
    "uint32": ("bits", "word", "key"),
    "int64": ("wide",),
    "float64": ("precise",),
}

#: Kernel arguments, by role and type ("*": any type).
ARG_NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "inputs": {
        "float": ("values", "weights", "samples", "signal", "heights"),
        "int": ("indices", "labels", "ids", "levels"),
        "vec2": ("uvs", "coords"),
        "vec3": ("positions", "velocities", "directions", "normals", "points"),
        "vec4": ("colors", "planes"),
        "mat22": ("jacobians_2d", "rotations_2d"),
        "mat33": ("frames", "tensors", "rotations"),
        "mat44": ("matrices", "xforms"),
        "quat": ("orientations", "rotations"),
        "transform": ("poses", "body_q"),
        "spatial_vector": ("twists", "body_qd"),
        "uint32": ("keys", "words"),
        "float64": ("precise_values",),
        "int64": ("wide_values",),
        "*": ("data", "inputs"),
    },
    "outputs": {
        "float": ("out", "result", "field"),
        "int": ("out_ids", "out_counts", "out_levels"),
        "vec3": ("out_vec", "out_points", "out_dirs"),
        "*": ("out", "result", "output"),
    },
    "params": {
        "float": ("scale", "gain", "bias", "threshold", "alpha"),
        "int": ("stride", "offset", "shift"),
        "vec3": ("origin", "axis", "center"),
        "*": ("param", "config"),
    },
}

#: Suffixes of generated ``@wp.func`` helpers (``<kernel>_<suffix>``), by result type.
HELPER_NAMES: dict[str, tuple[str, ...]] = {
    "float": ("falloff", "blend", "response", "profile", "score", "soften"),
    "int": ("bucket", "wrap_index", "quantize", "remap"),
    "bool": ("inside", "accept"),
    "vec2": ("planar", "to_uv"),
    "vec3": ("displace", "project", "reflect", "steer", "push"),
    "vec4": ("shade", "tint"),
    "mat33": ("basis", "frame", "stress"),
    "quat": ("orient", "turn"),
    "uint32": ("mix_bits", "scramble"),
    "*": ("compute", "apply", "evaluate"),
}
