using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Reliability;

/// <summary>An ML.NET row feeding <see cref="TinyMatMulRows.Model"/>'s input X [1, 4].</summary>
internal sealed class FourFloatsRow
{
    [VectorType(4)]
    public float[] X { get; set; } = [];
}

/// <summary>A tiny MatMul model (Y = X · W, X [1, 4], W [4, 3]) and random rows for it: fast fit/dispose cycles.</summary>
internal static class TinyMatMulRows
{
    public static byte[] Model(int seed)
    {
        var random = new Random(seed);
        var weight = Enumerable.Range(0, 12).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        return TinyModels.MatMul(weight, 4, 3).ToByteArray();
    }

    public static IDataView View(MLContext ml, int rows, int seed)
    {
        var random = new Random(seed);
        return ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows)
            .Select(_ => new FourFloatsRow { X = Enumerable.Range(0, 4).Select(_ => (float)random.NextDouble()).ToArray() }).ToList());
    }
}
