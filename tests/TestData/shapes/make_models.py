"""Writes the tiny synthetic models the CLI shape tests use (no third-party weights; weights from a fixed seed).

Run with python3 and onnx 1.12:  python3 make_models.py
- fixed_batch_expand.onnx: x [1, 4] -> Concat(x, Expand(1, [1, 2]), axis 1) -> MatMul -> y [1, 3]. The Expand's
  constant shape bakes the batch of 1 in, so the batch must stay fixed.
- symbolic_hw.onnx: x [N, 3, H, W] -> Conv(4, 3x3) -> Relu -> GlobalAveragePool -> Flatten -> Gemm -> y [N, 5].
- conv_only.onnx: x [N, 3, 8, 8] -> Conv(4, 3x3) -> Relu -> Conv(2, 1x1) -> y [N, 2, 6, 6]: nothing for dynamic mode.
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.RandomState(0)


def weights(name, *shape):
    return numpy_helper.from_array((rng.rand(*shape) * 2 - 1).astype(np.float32), name)


def save(graph, path):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


save(helper.make_graph(
    [helper.make_node("Expand", ["one", "expand_shape"], ["c"], name="expand"),
     helper.make_node("Concat", ["x", "c"], ["xc"], name="concat", axis=1),
     helper.make_node("MatMul", ["xc", "w"], ["y"], name="matmul")],
    "fixed_batch_expand",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    [numpy_helper.from_array(np.ones((1, 1), np.float32), "one"),
     numpy_helper.from_array(np.array([1, 2], np.int64), "expand_shape"),
     weights("w", 6, 3)]), "fixed_batch_expand.onnx")

save(helper.make_graph(
    [helper.make_node("Conv", ["x", "w", "b"], ["conv"], name="conv"),
     helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
     helper.make_node("GlobalAveragePool", ["relu"], ["pool"], name="pool"),
     helper.make_node("Flatten", ["pool"], ["flat"], name="flatten"),
     helper.make_node("Gemm", ["flat", "w2", "b2"], ["y"], name="gemm", transB=1)],
    "symbolic_hw",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])],
    [weights("w", 4, 3, 3, 3), weights("b", 4), weights("w2", 5, 4), weights("b2", 5)]), "symbolic_hw.onnx")

save(helper.make_graph(
    [helper.make_node("Conv", ["x", "w", "b"], ["conv"], name="conv"),
     helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
     helper.make_node("Conv", ["relu", "w2", "b2"], ["y"], name="conv2")],
    "conv_only",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, 6, 6])],
    [weights("w", 4, 3, 3, 3), weights("b", 4), weights("w2", 2, 4, 1, 1), weights("b2", 2)]), "conv_only.onnx")
