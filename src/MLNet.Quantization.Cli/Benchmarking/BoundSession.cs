using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Cli.Benchmarking;

/// <summary>
/// An ORT session with random float inputs bound once at a fixed batch size, so that repeated runs measure the model
/// and not input preparation. Symbolic dimensions other than the batch, and a fixed batch other than the one asked for, are refused by name.
/// </summary>
internal sealed class BoundSession : IDisposable
{
    private const string ModelName = "<benchmark model>";
    private const string Purpose = "benchmark it";
    private readonly InferenceSession _session;
    private readonly RunOptions _run = new();
    private readonly string[] _inputNames;
    private readonly OrtValue[] _inputs;
    private readonly string[] _outputNames;

    /// <summary>Creates the session and binds random inputs in [−1, 1) of <paramref name="batchSize"/> rows.</summary>
    public BoundSession(byte[] model, int batchSize, SessionSettings settings, int seed = 0)
    {
        using var options = settings.CreateSessionOptions();
        _session = OrtBoundary.CreateSession(model, options, ModelName, Purpose);
        var rng = new Random(seed);
        _inputNames = _session.InputMetadata.Keys.ToArray();
        _inputs = _session.InputMetadata.Select(kv => RandomInput(kv.Key, kv.Value, batchSize, rng)).ToArray();
        _outputNames = _session.OutputMetadata.Keys.ToArray();
    }

    /// <summary>Runs the model once on the bound inputs.</summary>
    /// <exception cref="Graph.OnnxGraphException">ONNX Runtime failed running the model.</exception>
    public void Run()
    {
        using var outputs = OrtBoundary.Run(() => _session.Run(_run, _inputNames, _inputs, _outputNames), ModelName, Purpose);
    }

    /// <summary>Runs the model once on the bound inputs and returns the milliseconds it took.</summary>
    public double TimeOneRun()
    {
        long start = Stopwatch.GetTimestamp();
        Run();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    public void Dispose()
    {
        foreach (var input in _inputs)
            input.Dispose();
        _run.Dispose();
        _session.Dispose();
    }

    private static OrtValue RandomInput(string name, NodeMetadata metadata, int batchSize, Random rng)
    {
        if (metadata.ElementDataType != Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float)
            throw new NotSupportedException($"benchmark input '{name}' is {metadata.ElementDataType}; only float inputs are generated");
        var dims = metadata.Dimensions;
        var shape = new long[dims.Length];
        for (int d = 0; d < dims.Length; d++)
        {
            shape[d] = d == 0 && dims[d] <= 0 ? batchSize : dims[d];
            if (d == 0 && shape[0] != batchSize)
                throw new NotSupportedException($"benchmark input '{name}' has a fixed batch dimension of {shape[0]}; it cannot be timed at batch {batchSize}");
            if (shape[d] <= 0)
                throw new NotSupportedException($"benchmark input '{name}' has a symbolic dimension {d} ('{metadata.SymbolicDimensions[d]}') other than the batch; give it a fixed size");
        }

        long count = shape.Aggregate(1L, (x, y) => x * y);
        var data = new float[count];
        for (long i = 0; i < count; i++)
            data[i] = (float)(rng.NextDouble() * 2 - 1);
        return OrtValue.CreateTensorValueFromMemory(data, shape);
    }
}
