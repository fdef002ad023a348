"""Child-side adapter for hw4 (runs inside the sandbox, next to student code).

It only knows how to find, construct and call the course's classes; it
computes nothing that is judged. Arrays arrive and leave in the course's own
layout; the parent-side profile converts to and from the reference layout.
"""

CLASS_NAMES = {
    "conv": ("nn_convolutional_layer",),
    "pool": ("nn_max_pooling_layer", "nn_maxpool_layer"),
}


def _find_class(modules, layer_name):
    for module in modules.values():
        for class_name in CLASS_NAMES[layer_name]:
            cls = getattr(module, class_name, None)
            if isinstance(cls, type):
                return cls
    raise LookupError(f"no class named {' or '.join(CLASS_NAMES[layer_name])} in the submission")


def construct(modules, layer_name, config):
    cls = _find_class(modules, layer_name)
    # Positional on purpose: parameter names differ between course years.
    return cls(*config["ctor_args"])


def set_params(layer, layer_name, config, params):
    setter = getattr(layer, "set_weights", None)
    if callable(setter):
        setter(params["W"], params["b"])
    else:
        layer.W = params["W"]
        layer.b = params["b"]


def call(layer, layer_name, config, method, args):
    if method == "forward":
        return {"y": layer.forward(args["x"])}
    if method == "backward":
        result = layer.backprop(args["x"], args["dy"])
        if layer_name == "pool":
            return {"dx": result}
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            raise TypeError(f"backprop returned {type(result).__name__} of length "
                            f"{len(result) if hasattr(result, '__len__') else '?'}, expected (dLdx, dLdW, dLdb)")
        return {"dx": result[0], "dW": result[1], "db": result[2]}
    if method == "update_weights":
        layer.update_weights(args["dW"], args["db"])
        return {}
    raise ValueError(f"unknown method {method!r}")
