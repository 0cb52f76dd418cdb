using MLNet.Quantization.Cli.Commands;
using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Cli.DataFiles;

/// <summary>Samples of a single-float-input model and their labels, read and checked against each other.</summary>
internal sealed record LabelledData(float[] Samples, int[] Labels)
{
    public int Count => Labels.Length;

    /// <summary>Reads <paramref name="dataPath"/> for the model's input and <paramref name="labelsPath"/> (.npy int64/int32 [N]).</summary>
    public static LabelledData Read(OnnxGraph graph, string dataPath, string labelsPath, string dataOption = "--data", string labelsOption = "--labels")
    {
        var input = graph.Inputs.Count > 0 ? graph.Inputs[0] : throw new CliException("the model has no inputs");
        var y = LabelFile.Read(labelsPath, labelsOption);
        var batches = ModelInputs.Batches(graph, dataPath, int.MaxValue, 256);
        int count = batches.Sum(b => b[0].Shape[0]);
        if (count != y.Length)
            throw new CliException($"{dataOption} has {count} samples but {labelsOption} has {y.Length}");
        var samples = batches.SelectMany(b => b[0].Floats ?? throw new CliException($"{dataOption}: input '{input.Name}' is not float")).ToArray();
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            long label = y[i];
            if (label < 0 || label > int.MaxValue)
                throw new CliException($"{labelsOption}: label {label} at index {i} is not a class index");
            labels[i] = (int)label;
        }

        return new LabelledData(samples, labels);
    }
}
