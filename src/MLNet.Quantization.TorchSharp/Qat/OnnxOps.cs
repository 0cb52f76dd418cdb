using MLNet.Quantization.Graph;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MLNet.Quantization.TorchSharp.Qat;

/// <summary>
/// ONNX operators evaluated with TorchSharp ops (differentiable where ONNX's are). Shapes and types are checked in C#
/// before each call into libtorch, because some TorchSharp native calls abort the process on a C++ error.
/// </summary>
internal static class OnnxOps
{
    /// <summary>The operator types (default ONNX domain) the interpreter evaluates.</summary>
    public static IReadOnlySet<string> Supported { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "Add", "Sub", "Mul", "Div", "Pow", "Relu", "Clip", "Sigmoid", "Tanh", "Erf", "Sqrt", "Neg", "Exp",
        "Conv", "Gemm", "MatMul", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool",
        "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Gather", "Slice", "Shape",
        "Softmax", "ReduceMean", "Identity", "Dropout", "Constant", "Cast",
    };

    /// <summary>Throws unless the node can be evaluated: a supported operator type with supported attributes.</summary>
    /// <exception cref="NotSupportedException">The operator or one of its attributes is not supported; the message names the node.</exception>
    public static void Check(OnnxNode node)
    {
        if (!node.IsDefaultDomain || !Supported.Contains(node.OpType))
            throw new NotSupportedException(
                $"Node '{node.Name}' has operator type {(node.IsDefaultDomain ? "" : node.Domain + ":")}{node.OpType}, which the QAT interpreter does not support; supported: {string.Join(", ", Supported.Order(StringComparer.Ordinal))}.");
        string autoPad = node.GetString("auto_pad", "NOTSET");
        if (node.OpType is "Conv" or "MaxPool" or "AveragePool" && autoPad is not ("NOTSET" or "VALID"))
            throw new NotSupportedException($"Node '{node.Name}' ({node.OpType}) has auto_pad {autoPad}; the QAT interpreter supports NOTSET and VALID.");
        if (node.OpType is "Conv" or "MaxPool" or "AveragePool" && node.GetInts("kernel_shape").Count is not (0 or 1 or 2))
            throw new NotSupportedException($"Node '{node.Name}' ({node.OpType}) is {node.GetInts("kernel_shape").Count}-D; the QAT interpreter supports 1-D and 2-D.");
        if (node.OpType == "MaxPool" && node.Outputs.Count > 1 && node.Outputs[1].Length > 0)
            throw new NotSupportedException($"Node '{node.Name}' (MaxPool) has an Indices output, which the QAT interpreter does not support.");
        if (node.OpType == "Constant" && node.GetTensor("value") is null && !node.HasAttribute("value_float") && !node.HasAttribute("value_floats")
            && !node.HasAttribute("value_int") && !node.HasAttribute("value_ints"))
            throw new NotSupportedException($"Node '{node.Name}' (Constant) has a value kind the QAT interpreter does not support.");
    }

    /// <summary>Evaluates <paramref name="node"/> on <paramref name="inputs"/> (null for an absent optional input).</summary>
    /// <exception cref="ArgumentException">Shapes or types do not fit the operator; the message names the node.</exception>
    public static Tensor Run(OnnxNode node, IReadOnlyList<Tensor?> inputs, long opset)
    {
        Tensor X(int i) => i < inputs.Count && inputs[i] is { } t ? t : throw Error(node, $"input {i} is missing");
        Tensor? Optional(int i) => i < inputs.Count ? inputs[i] : null;
        return node.OpType switch
        {
            "Add" => Binary(node, X(0), X(1), static (a, b) => a.Plus(b)),
            "Sub" => Binary(node, X(0), X(1), static (a, b) => a.Minus(b)),
            "Mul" => Binary(node, X(0), X(1), static (a, b) => a * b),
            "Div" => Binary(node, X(0), X(1), static (a, b) => a.is_floating_point() ? a / b : a.div(b, RoundingMode.trunc)),
            "Pow" => Binary(node, X(0), X(1), static (a, b) => a.pow(b), sameType: false),
            "Relu" => F.relu(X(0)),
            "Clip" => Clip(node, X(0), Optional(1), Optional(2), opset),
            "Sigmoid" => X(0).sigmoid(),
            "Tanh" => X(0).tanh(),
            "Erf" => X(0).erf(),
            "Sqrt" => X(0).sqrt(),
            "Neg" => X(0).neg(),
            "Exp" => X(0).exp(),
            "Conv" => Conv(node, X(0), X(1), Optional(2)),
            "Gemm" => Gemm(node, X(0), X(1), Optional(2)),
            "MatMul" => MatMul(node, X(0), X(1)),
            "BatchNormalization" => BatchNorm(node, X(0), X(1), X(2), X(3), X(4)),
            "MaxPool" => MaxPool(node, X(0)),
            "AveragePool" => AveragePool(node, X(0)),
            "GlobalAveragePool" => GlobalAveragePool(node, X(0)),
            "Flatten" => Flatten(node, X(0)),
            "Reshape" => Reshape(node, X(0), X(1)),
            "Transpose" => Transpose(node, X(0)),
            "Squeeze" => Squeeze(node, X(0), Optional(1), opset),
            "Unsqueeze" => Unsqueeze(node, X(0), Optional(1), opset),
            "Concat" => Concat(node, inputs.Select((t, i) => t ?? throw Error(node, $"input {i} is missing")).ToList()),
            "Gather" => Gather(node, X(0), X(1)),
            "Slice" => Slice(node, X(0), Optional(1), Optional(2), Optional(3), Optional(4), opset),
            "Shape" => Shape(node, X(0)),
            "Softmax" => Softmax(node, X(0), opset),
            "ReduceMean" => ReduceMean(node, X(0), Optional(1), opset),
            "Identity" or "Dropout" => X(0).alias(),
            "Constant" => ConstantValue(node),
            "Cast" => X(0).to_type(ScalarTypeOf(node, (TensorElementType)node.GetInt("to", 0))),
            _ => throw new NotSupportedException($"Node '{node.Name}' has operator type {node.OpType}, which the QAT interpreter does not support."),
        };
    }

    /// <summary>The TorchSharp type of an ONNX element type.</summary>
    public static ScalarType ScalarTypeOf(OnnxNode? node, TensorElementType type) => type switch
    {
        TensorElementType.Float => ScalarType.Float32,
        TensorElementType.Double => ScalarType.Float64,
        TensorElementType.Int64 => ScalarType.Int64,
        TensorElementType.Int32 => ScalarType.Int32,
        TensorElementType.Int16 => ScalarType.Int16,
        TensorElementType.Int8 => ScalarType.Int8,
        TensorElementType.UInt8 => ScalarType.Byte,
        TensorElementType.Bool => ScalarType.Bool,
        _ => throw new NotSupportedException($"{(node is null ? "A tensor" : $"Node '{node.Name}'")} uses element type {type}, which the QAT interpreter does not support."),
    };

    /// <summary>A constant tensor (initializer or Constant value) as a TorchSharp tensor.</summary>
    public static Tensor ToTensor(TensorData data)
    {
        var dims = data.Dims.ToArray();
        return data.ElementType switch
        {
            TensorElementType.Float or TensorElementType.Double or TensorElementType.Float16 or TensorElementType.BFloat16 =>
                tensor(data.ToFloatArray(), dims),
            TensorElementType.Bool => tensor(data.ToInt64Array().Select(v => v != 0).ToArray(), dims),
            _ => tensor(data.ToInt64Array(), dims).to_type(ScalarTypeOf(null, data.ElementType)),
        };
    }

    // ------------------------------------------------------------------ element-wise

    private static Tensor Binary(OnnxNode node, Tensor a, Tensor b, Func<Tensor, Tensor, Tensor> op, bool sameType = true)
    {
        if (sameType && a.dtype != b.dtype)
            throw Error(node, $"inputs have types {a.dtype} and {b.dtype}");
        BroadcastShape(node, a.shape, b.shape);
        return op(a, b);
    }

    /// <summary>NumPy broadcasting of two shapes, or an error naming the node.</summary>
    private static long[] BroadcastShape(OnnxNode node, long[] a, long[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            long db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw Error(node, $"shapes {Format(a)} and {Format(b)} do not broadcast");
            result[i] = da == 1 ? db : da;
        }

        return result;
    }

    private static Tensor Clip(OnnxNode node, Tensor x, Tensor? min, Tensor? max, long opset)
    {
        double? lo, hi;
        if (opset < 11)
        {
            lo = node.HasAttribute("min") ? node.GetFloat("min", 0f) : null;
            hi = node.HasAttribute("max") ? node.GetFloat("max", 0f) : null;
        }
        else
        {
            lo = min is null ? null : Scalar(node, min, "min");
            hi = max is null ? null : Scalar(node, max, "max");
        }

        if (lo is null && hi is null)
            return x.alias();
        // explicit Scalars, alive until the call returns (see SafeScalars)
        using var low = (lo ?? double.NegativeInfinity).ToScalar();
        using var high = (hi ?? double.PositiveInfinity).ToScalar();
        if (hi is null)
            return x.clamp_min(low);
        if (lo is null)
            return x.clamp_max(high);
        return x.clamp(low, high);
    }

    private static double Scalar(OnnxNode node, Tensor t, string what)
    {
        if (t.numel() != 1)
            throw Error(node, $"{what} must be a scalar; it has shape {Format(t.shape)}");
        return t.to_type(ScalarType.Float64).item<double>();
    }

    // ------------------------------------------------------------------ linear algebra

    private static Tensor Conv(OnnxNode node, Tensor x, Tensor w, Tensor? b)
    {
        int spatial = (int)w.dim() - 2;
        if (spatial is not (1 or 2) || x.dim() != w.dim())
            throw Error(node, $"input {Format(x.shape)} and weight {Format(w.shape)} are not a 1-D or 2-D convolution");
        long group = node.GetInt("group", 1);
        if (group < 1 || x.shape[1] != w.shape[1] * group || w.shape[0] % group != 0)
            throw Error(node, $"input {Format(x.shape)} has {x.shape[1]} channels but weight {Format(w.shape)} with group {group} needs {w.shape[1] * group}");
        if (b is not null && (b.dim() != 1 || b.shape[0] != w.shape[0]))
            throw Error(node, $"bias {Format(b.shape)} does not match {w.shape[0]} output channels");
        var kernel = Ints(node, "kernel_shape", w.shape[2..]);
        if (!kernel.AsSpan().SequenceEqual(w.shape.AsSpan(2)))
            throw Error(node, $"kernel_shape {Format(kernel)} differs from the weight's {Format(w.shape[2..])}");
        var strides = Ints(node, "strides", Enumerable.Repeat(1L, spatial).ToArray());
        var dilations = Ints(node, "dilations", Enumerable.Repeat(1L, spatial).ToArray());
        var (input, padding) = SymmetricPadding(node, x, spatial, 0.0);
        for (int i = 0; i < spatial; i++)
        {
            long effective = dilations[i] * (kernel[i] - 1) + 1;
            if (input.shape[2 + i] + 2 * padding[i] < effective)
                throw Error(node, $"input {Format(x.shape)} is smaller than the kernel {Format(kernel)}");
        }

        return spatial == 1
            ? F.conv1d(input, w, b, strides[0], padding[0], dilations[0], group)
            : F.conv2d(input, w, b, strides, padding, dilations, group);
    }

    private static Tensor Gemm(OnnxNode node, Tensor a, Tensor b, Tensor? c)
    {
        if (a.dim() != 2 || b.dim() != 2)
            throw Error(node, $"Gemm needs 2-D inputs; got {Format(a.shape)} and {Format(b.shape)}");
        bool transA = node.GetInt("transA", 0) != 0, transB = node.GetInt("transB", 0) != 0;
        float alpha = node.GetFloat("alpha", 1f), beta = node.GetFloat("beta", 1f);
        long k = transA ? a.shape[0] : a.shape[1];
        long kb = transB ? b.shape[1] : b.shape[0];
        if (k != kb)
            throw Error(node, $"A {Format(a.shape)} (transA={transA}) and B {Format(b.shape)} (transB={transB}) have inner sizes {k} and {kb}");
        long m = transA ? a.shape[1] : a.shape[0], n = transB ? b.shape[0] : b.shape[1];
        if (c is not null)
            BroadcastTo(node, c.shape, [m, n], "C");
        if (!transA && transB && alpha == 1f && (c is null || beta == 1f))
            return F.linear(a, b, c);
        var product = (transA ? a.t() : a).matmul(transB ? b.t() : b);
        if (alpha != 1f)
            product = product.Times(alpha);
        if (c is null || beta == 0f)
            return product;
        return product.Plus(beta == 1f ? c : c.Times(beta));
    }

    private static void BroadcastTo(OnnxNode node, long[] shape, long[] target, string what)
    {
        for (int i = 0; i < shape.Length; i++)
        {
            long d = shape[shape.Length - 1 - i];
            long t = i < target.Length ? target[target.Length - 1 - i] : -1;
            if (i >= target.Length || (d != 1 && d != t))
                throw Error(node, $"{what} {Format(shape)} does not broadcast to {Format(target)}");
        }
    }

    private static Tensor MatMul(OnnxNode node, Tensor a, Tensor b)
    {
        if (a.dim() == 0 || b.dim() == 0)
            throw Error(node, "MatMul inputs must have rank 1 or more");
        long ka = a.shape[^1];
        long kb = b.dim() == 1 ? b.shape[0] : b.shape[^2];
        if (ka != kb)
            throw Error(node, $"shapes {Format(a.shape)} and {Format(b.shape)} have inner sizes {ka} and {kb}");
        if (a.dim() > 2 && b.dim() > 2)
            BroadcastShape(node, a.shape[..^2], b.shape[..^2]);
        if (a.dtype != b.dtype)
            throw Error(node, $"inputs have types {a.dtype} and {b.dtype}");
        return a.matmul(b);
    }

    private static Tensor BatchNorm(OnnxNode node, Tensor x, Tensor scale, Tensor bias, Tensor mean, Tensor variance)
    {
        if (x.dim() < 2)
            throw Error(node, $"input {Format(x.shape)} has no channel axis");
        long c = x.shape[1];
        foreach (var (t, what) in new[] { (scale, "scale"), (bias, "B"), (mean, "mean"), (variance, "var") })
        {
            if (t.dim() != 1 || t.shape[0] != c)
                throw Error(node, $"{what} {Format(t.shape)} does not match {c} channels");
        }

        return F.batch_norm(x, mean, variance, scale, bias, training: false, eps: node.GetFloat("epsilon", 1e-5f));
    }

    // ------------------------------------------------------------------ pooling

    private static Tensor MaxPool(OnnxNode node, Tensor x)
    {
        int spatial = (int)x.dim() - 2;
        var (kernel, strides, dilations) = PoolGeometry(node, x, spatial);
        var (input, padding) = SymmetricPadding(node, x, spatial, double.NegativeInfinity);
        bool ceil = node.GetInt("ceil_mode", 0) != 0;
        if (spatial == 1)
            return F.max_pool1d(input, kernel[0], strides[0], padding[0], dilations[0], ceil);
        return F.max_pool2d(input, kernel, strides, padding, dilations, ceil);
    }

    private static Tensor AveragePool(OnnxNode node, Tensor x)
    {
        int spatial = (int)x.dim() - 2;
        var (kernel, strides, _) = PoolGeometry(node, x, spatial);
        bool countPad = node.GetInt("count_include_pad", 0) != 0;
        bool ceil = node.GetInt("ceil_mode", 0) != 0;
        var pads = Ints(node, "pads", new long[2 * spatial]);
        bool symmetric = Enumerable.Range(0, spatial).All(i => pads[i] == pads[i + spatial]);
        if (!symmetric && !countPad)
            throw Error(node, $"asymmetric pads {Format(pads)} without count_include_pad are not supported");
        var (input, padding) = SymmetricPadding(node, x, spatial, 0.0);
        if (spatial == 1)
            return F.avg_pool1d(input, kernel[0], strides[0], padding[0], ceil, countPad);
        return F.avg_pool2d(input, kernel, strides, padding, ceil, countPad);
    }

    private static (long[] Kernel, long[] Strides, long[] Dilations) PoolGeometry(OnnxNode node, Tensor x, int spatial)
    {
        if (spatial is not (1 or 2))
            throw Error(node, $"input {Format(x.shape)} is not a 1-D or 2-D feature map");
        var kernel = node.GetInts("kernel_shape").ToArray();
        if (kernel.Length != spatial)
            throw Error(node, $"kernel_shape {Format(kernel)} does not fit input {Format(x.shape)}");
        var strides = Ints(node, "strides", Enumerable.Repeat(1L, spatial).ToArray());
        var dilations = Ints(node, "dilations", Enumerable.Repeat(1L, spatial).ToArray());
        for (int i = 0; i < spatial; i++)
        {
            if (x.shape[2 + i] < dilations[i] * (kernel[i] - 1) + 1 - 2 * Ints(node, "pads", new long[2 * spatial])[i])
                throw Error(node, $"input {Format(x.shape)} is smaller than the kernel {Format(kernel)}");
        }

        return (kernel, strides, dilations);
    }

    private static Tensor GlobalAveragePool(OnnxNode node, Tensor x)
    {
        if (x.dim() < 3)
            throw Error(node, $"input {Format(x.shape)} has no spatial axes");
        return x.mean(Enumerable.Range(2, (int)x.dim() - 2).Select(i => (long)i).ToArray(), keepdim: true);
    }

    /// <summary>
    /// ONNX pads [b1, b2, ..., e1, e2, ...] as torch's symmetric padding; asymmetric pads become an explicit pad with
    /// <paramref name="fill"/> (−Inf for max pooling, 0 otherwise). VALID means no padding.
    /// </summary>
    private static (Tensor Input, long[] Padding) SymmetricPadding(OnnxNode node, Tensor x, int spatial, double fill)
    {
        var pads = node.GetString("auto_pad", "NOTSET") == "VALID" ? new long[2 * spatial] : Ints(node, "pads", new long[2 * spatial]);
        if (pads.Length != 2 * spatial || pads.Any(p => p < 0))
            throw Error(node, $"pads {Format(pads)} do not fit {spatial} spatial axes");
        var begin = pads[..spatial];
        var end = pads[spatial..];
        if (begin.SequenceEqual(end))
            return (x, begin);
        // torch's pad lists the last axis first: (left, right, top, bottom)
        var torchPads = new List<long>();
        for (int i = spatial - 1; i >= 0; i--)
            torchPads.AddRange([begin[i], end[i]]);
        return (F.pad(x, torchPads.ToArray(), PaddingModes.Constant, fill), new long[spatial]);
    }

    // ------------------------------------------------------------------ shapes

    private static Tensor Flatten(OnnxNode node, Tensor x)
    {
        int rank = (int)x.dim();
        long axis = node.GetInt("axis", 1);
        if (axis < 0)
            axis += rank;
        if (axis < 0 || axis > rank)
            throw Error(node, $"axis {node.GetInt("axis", 1)} is outside rank {rank}");
        long outer = x.shape[..(int)axis].Aggregate(1L, (p, d) => p * d);
        long inner = x.shape[(int)axis..].Aggregate(1L, (p, d) => p * d);
        return x.reshape(outer, inner);
    }

    private static Tensor Reshape(OnnxNode node, Tensor x, Tensor shapeTensor)
    {
        var requested = Longs(node, shapeTensor, "shape");
        bool allowZero = node.GetInt("allowzero", 0) != 0;
        var shape = new long[requested.Length];
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            long d = requested[i];
            if (d == 0 && !allowZero)
            {
                if (i >= x.dim())
                    throw Error(node, $"shape {Format(requested)} copies dimension {i} of a rank-{x.dim()} input");
                d = x.shape[i];
            }

            if (d == -1)
            {
                if (inferred >= 0)
                    throw Error(node, $"shape {Format(requested)} has more than one -1");
                inferred = i;
                continue;
            }

            if (d < 0)
                throw Error(node, $"shape {Format(requested)} has a negative dimension");
            shape[i] = d;
            known *= d;
        }

        long count = x.numel();
        if (inferred >= 0)
        {
            if (known == 0 || count % known != 0)
                throw Error(node, $"cannot reshape {Format(x.shape)} to {Format(requested)}");
            shape[inferred] = count / known;
        }
        else if (known != count)
        {
            throw Error(node, $"cannot reshape {Format(x.shape)} ({count} values) to {Format(requested)}");
        }

        return x.reshape(shape);
    }

    private static Tensor Transpose(OnnxNode node, Tensor x)
    {
        int rank = (int)x.dim();
        var perm = node.HasAttribute("perm") ? node.GetInts("perm").ToArray() : Enumerable.Range(0, rank).Reverse().Select(i => (long)i).ToArray();
        if (perm.Length != rank || perm.Order().Select((p, i) => p == i).Any(ok => !ok))
            throw Error(node, $"perm {Format(perm)} is not a permutation of {rank} axes");
        return x.permute(perm);
    }

    private static Tensor Squeeze(OnnxNode node, Tensor x, Tensor? axesInput, long opset)
    {
        var axes = opset >= 13 ? (axesInput is null ? null : Longs(node, axesInput, "axes")) : (node.HasAttribute("axes") ? node.GetInts("axes").ToArray() : null);
        if (axes is null)
            return x.squeeze();
        var normalized = axes.Select(a => Axis(node, a, (int)x.dim())).OrderDescending().ToList();
        var result = x.alias();
        foreach (long a in normalized)
        {
            if (x.shape[a] != 1)
                throw Error(node, $"axis {a} of {Format(x.shape)} is not 1");
            result = result.squeeze(a);
        }

        return result;
    }

    private static Tensor Unsqueeze(OnnxNode node, Tensor x, Tensor? axesInput, long opset)
    {
        var axes = opset >= 13 ? Longs(node, axesInput ?? throw Error(node, "input 1 (axes) is missing"), "axes") : node.GetInts("axes").ToArray();
        int rank = (int)x.dim() + axes.Length;
        var result = x.alias();
        foreach (long a in axes.Select(a => Axis(node, a, rank)).Order())
            result = result.unsqueeze(a);
        return result;
    }

    private static Tensor Concat(OnnxNode node, List<Tensor> inputs)
    {
        if (inputs.Count == 0)
            throw Error(node, "no inputs");
        int rank = (int)inputs[0].dim();
        long axis = Axis(node, node.GetInt("axis", 0), rank);
        foreach (var t in inputs)
        {
            if (t.dim() != rank || t.dtype != inputs[0].dtype
                || Enumerable.Range(0, rank).Any(i => i != axis && t.shape[i] != inputs[0].shape[i]))
                throw Error(node, $"inputs {string.Join(", ", inputs.Select(i => $"{i.dtype}{Format(i.shape)}"))} cannot be concatenated on axis {axis}");
        }

        return cat(inputs, axis);
    }

    private static Tensor Gather(OnnxNode node, Tensor data, Tensor indices)
    {
        int rank = (int)data.dim();
        long axis = Axis(node, node.GetInt("axis", 0), rank);
        long size = data.shape[axis];
        var values = Longs(node, indices, "indices");
        if (values.Any(v => v < -size || v >= size))
            throw Error(node, $"an index is outside [-{size}, {size - 1}] on axis {axis}");
        using var flat = tensor(values.Select(v => v < 0 ? v + size : v).ToArray());
        var picked = data.index_select(axis, flat);
        long[] shape = [.. data.shape[..(int)axis], .. indices.shape, .. data.shape[((int)axis + 1)..]];
        return picked.reshape(shape);
    }

    private static Tensor Slice(OnnxNode node, Tensor x, Tensor? startsInput, Tensor? endsInput, Tensor? axesInput, Tensor? stepsInput, long opset)
    {
        long[] starts, ends;
        long[]? axes, steps = null;
        if (opset < 10)
        {
            starts = node.GetInts("starts").ToArray();
            ends = node.GetInts("ends").ToArray();
            axes = node.HasAttribute("axes") ? node.GetInts("axes").ToArray() : null;
        }
        else
        {
            starts = Longs(node, startsInput ?? throw Error(node, "starts are missing"), "starts");
            ends = Longs(node, endsInput ?? throw Error(node, "ends are missing"), "ends");
            axes = axesInput is null ? null : Longs(node, axesInput, "axes");
            steps = stepsInput is null ? null : Longs(node, stepsInput, "steps");
        }

        int rank = (int)x.dim();
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        steps ??= Enumerable.Repeat(1L, starts.Length).ToArray();
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
            throw Error(node, "starts, ends, axes and steps differ in length");
        var result = x.alias();
        for (int i = 0; i < starts.Length; i++)
        {
            long axis = Axis(node, axes[i], rank);
            long dim = x.shape[axis];
            if (steps[i] <= 0)
                throw Error(node, $"step {steps[i]} is not supported (only positive steps)");
            long start = Math.Clamp(starts[i] < 0 ? starts[i] + dim : starts[i], 0, dim);
            long end = Math.Clamp(ends[i] < 0 ? ends[i] + dim : ends[i], 0, dim);
            result = result.slice(axis, start, Math.Max(start, end), steps[i]);
        }

        return result;
    }

    private static Tensor Shape(OnnxNode node, Tensor x)
    {
        int rank = (int)x.dim();
        long start = node.GetInt("start", 0), end = node.GetInt("end", rank);
        start = Math.Clamp(start < 0 ? start + rank : start, 0, rank);
        end = Math.Clamp(end < 0 ? end + rank : end, 0, rank);
        return tensor(x.shape[(int)start..(int)Math.Max(start, end)]);
    }

    private static Tensor Softmax(OnnxNode node, Tensor x, long opset)
    {
        int rank = (int)x.dim();
        long axis = Axis(node, node.GetInt("axis", opset >= 13 ? -1 : 1), rank);
        if (opset >= 13)
            return x.softmax(axis);
        // before opset 13: the input is coerced to 2-D [prod(d0..axis-1), prod(axis..)]
        long outer = x.shape[..(int)axis].Aggregate(1L, (p, d) => p * d);
        return x.reshape(outer, -1).softmax(1).reshape(x.shape);
    }

    private static Tensor ReduceMean(OnnxNode node, Tensor x, Tensor? axesInput, long opset)
    {
        int rank = (int)x.dim();
        long[]? axes = opset >= 18 ? (axesInput is null ? null : Longs(node, axesInput, "axes")) : (node.HasAttribute("axes") ? node.GetInts("axes").ToArray() : null);
        bool keep = node.GetInt("keepdims", 1) != 0;
        if (axes is null || axes.Length == 0)
        {
            if (opset >= 18 && node.GetInt("noop_with_empty_axes", 0) != 0)
                return x.alias();
            axes = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        }

        return x.mean(axes.Select(a => Axis(node, a, rank)).Distinct().ToArray(), keepdim: keep);
    }

    private static Tensor ConstantValue(OnnxNode node)
    {
        if (node.GetTensor("value") is { } t)
            return ToTensor(t);
        if (node.HasAttribute("value_float"))
            return tensor(node.GetFloat("value_float", 0f));
        if (node.HasAttribute("value_floats"))
            return tensor(node.GetFloats("value_floats").ToArray());
        if (node.HasAttribute("value_int"))
            return tensor(node.GetInt("value_int", 0));
        return tensor(node.GetInts("value_ints").ToArray());
    }

    // ------------------------------------------------------------------ helpers

    private static long[] Ints(OnnxNode node, string name, long[] defaultValue) =>
        node.HasAttribute(name) ? node.GetInts(name).ToArray() : defaultValue;

    /// <summary>The values of an integer tensor (shape, axes, indices).</summary>
    private static long[] Longs(OnnxNode node, Tensor t, string what)
    {
        if (t.is_floating_point() || t.dtype == ScalarType.Bool)
            throw Error(node, $"{what} must be an integer tensor; got {t.dtype}");
        using var values = t.to_type(ScalarType.Int64).contiguous();
        return values.data<long>().ToArray();
    }

    private static long Axis(OnnxNode node, long axis, int rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= Math.Max(rank, 1))
            throw Error(node, $"axis {axis} is outside rank {rank}");
        return a;
    }

    private static string Format(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";

    private static ArgumentException Error(OnnxNode node, string message) => new($"Node '{node.Name}' ({node.OpType}): {message}.");
}
