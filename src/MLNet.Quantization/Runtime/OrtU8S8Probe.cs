using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Runtime;

/// <summary>
/// Whether ONNX Runtime's uint8 × int8 integer GEMM on this CPU is exact, found by running it once: without VNNI,
/// ORT's x86 kernel adds pairs of products in saturating int16 (<c>VPMADDUBSW</c>), so 255 · 127 + 255 · 127 comes out
/// as 32,767; with VNNI (<c>VPDPBUSD</c>) or on other CPUs it accumulates in int32 and is exact.
/// </summary>
internal static class OrtU8S8Probe
{
    private const int M = 4, K = 64, N = 16;
    private static readonly Lazy<bool> Exact = new(Probe, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>True when ORT's MatMulInteger with uint8 A and a constant int8 B gives exact int32 sums on this CPU.</summary>
    public static bool IsExact => Exact.Value;

    private static bool Probe()
    {
        var graph = new GraphProto { Name = "u8s8_probe" };
        graph.Input.Add(Info("A", TensorProto.Types.DataType.Uint8, M, K));
        graph.Output.Add(Info("Y", TensorProto.Types.DataType.Int32, M, N));
        var b = new TensorProto { Name = "B", DataType = (int)TensorProto.Types.DataType.Int8, Dims = { K, N } };
        b.RawData = Google.Protobuf.ByteString.CopyFrom(Enumerable.Repeat((byte)127, K * N).ToArray());
        graph.Initializer.Add(b);
        graph.Node.Add(new NodeProto { Name = "probe", OpType = "MatMulInteger", Input = { "A", "B" }, Output = { "Y" } });
        var model = new ModelProto { IrVersion = 8, ProducerName = "MLNet.Quantization", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        using var options = OrtSessionOptions.Create(GraphOptimizationLevel.ORT_ENABLE_ALL, intraOpThreads: 1);
        using var session = OrtBoundary.CreateSession(Google.Protobuf.MessageExtensions.ToByteArray(model), options, "uint8 × int8 probe", "check its integer GEMM");
        var a = Enumerable.Repeat((byte)255, M * K).ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(a, [M, K]);
        using var runOptions = new RunOptions();
        using var results = OrtBoundary.Run(() => session.Run(runOptions, ["A"], [input], ["Y"]), "uint8 × int8 probe", "check its integer GEMM");
        int expected = K * 255 * 127;
        foreach (int value in results[0].GetTensorDataAsSpan<int>())
        {
            if (value != expected)
                return false;
        }

        return true;
    }

    private static ValueInfoProto Info(string name, TensorProto.Types.DataType type, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (long d in dims)
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }
}
