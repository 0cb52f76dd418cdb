using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;

namespace MLNet.Quantization.Passes;

/// <summary>
/// How much constant folding may compute: the bytes of one folded tensor, of all of them together, and the
/// multiply-adds of one node. A node over a limit is not evaluated; its size and work are known before it runs.
/// </summary>
/// <param name="MaxTensorBytes">The most bytes one folded tensor may take.</param>
/// <param name="MaxWork">The most multiply-adds (MatMul, Gemm, Conv) one folded node may take.</param>
internal sealed record FoldingLimits(long MaxTensorBytes, long MaxWork)
{
    /// <summary>The smallest default per-tensor limit, 64 MiB.</summary>
    public const long MinDefaultTensorBytes = 64L << 20;

    /// <summary>The default limit of the work of one node, 2^30 multiply-adds (about a second of one core).</summary>
    public const long DefaultMaxWork = 1L << 30;

    /// <summary>Folding stops once the folded tensors together take this many times <see cref="MaxTensorBytes"/>.</summary>
    public const int TotalBytesFactor = 4;

    /// <summary>All folded tensors together may take at most this many bytes.</summary>
    public long MaxTotalBytes => MaxTensorBytes > long.MaxValue / TotalBytesFactor ? long.MaxValue : MaxTensorBytes * TotalBytesFactor;

    /// <summary>The limits for <paramref name="graph"/>: <paramref name="maxTensorBytes"/>, or else the larger of 64 MiB and 4× its initializer bytes.</summary>
    public static FoldingLimits For(OnnxGraph graph, long? maxTensorBytes) =>
        new(maxTensorBytes ?? Math.Max(MinDefaultTensorBytes, Saturating(4, InitializerBytes(graph))), DefaultMaxWork);

    /// <summary>The bytes the graph's initializers take (as elements × element size, external ones included).</summary>
    internal static long InitializerBytes(OnnxGraph graph)
    {
        long total = 0;
        foreach (var tensor in graph.Initializers.Values)
        {
            if (TensorLayout.TryGetElementCount(tensor.Dims, out _) is { } count)
                total = Math.Min(long.MaxValue / 2, total + Saturating(count, ElementBytes(tensor.ElementType)));
        }

        return total;
    }

    /// <summary>Bytes per element (a string counted as 64 bytes, a guess: its length is not known before it is computed).</summary>
    internal static long ElementBytes(TensorElementType type) => type switch
    {
        TensorElementType.Bool or TensorElementType.Int8 or TensorElementType.UInt8 => 1,
        TensorElementType.Int16 or TensorElementType.UInt16 or TensorElementType.Float16 or TensorElementType.BFloat16 => 2,
        TensorElementType.Int32 or TensorElementType.UInt32 or TensorElementType.Float => 4,
        TensorElementType.String => 64,
        _ => 8,
    };

    /// <summary>a × b, or <see cref="long.MaxValue"/> when it overflows (both non-negative).</summary>
    internal static long Saturating(long a, long b) => a == 0 || b <= long.MaxValue / a ? a * b : long.MaxValue;
}
