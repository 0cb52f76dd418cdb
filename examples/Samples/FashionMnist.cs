using MLNet.Quantization.Calibration;
namespace MLNet.Quantization.Samples;

/// <summary>
/// Fashion-MNIST (or MNIST) images and labels from IDX files, as the bundled models expect them:
/// <c>[N, 1, 28, 28]</c> float images normalised as <c>(x/255 − 0.2860)/0.3530</c>, or raw 0–255 values.
/// Sample code for the examples, tests and notebooks, not part of the MLNet.Quantization library: the examples and tests
/// compile this file in, the notebooks load it as the MLNet.Quantization.Samples package.
/// </summary>
public sealed class FashionMnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package installs the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Normalisation mean of the bundled models.</summary>
    public const float Mean = 0.2860f;

    /// <summary>Normalisation standard deviation of the bundled models.</summary>
    public const float Std = 0.3530f;

    private FashionMnist(float[] images, int[] labels, int height, int width)
    {
        Images = images;
        Labels = labels;
        Height = height;
        Width = width;
    }

    /// <summary>Images, C order <c>[Count, 1, Height, Width]</c>.</summary>
    public float[] Images { get; }

    /// <summary>Class labels 0–9.</summary>
    public int[] Labels { get; }

    /// <summary>Number of samples.</summary>
    public int Count => Labels.Length;

    /// <summary>Image height.</summary>
    public int Height { get; }

    /// <summary>Image width.</summary>
    public int Width { get; }

    /// <summary>Values per image.</summary>
    public int ImageSize => Height * Width;

    /// <summary>One image's values.</summary>
    public ReadOnlySpan<float> Image(int index) => Images.AsSpan(index * ImageSize, ImageSize);

    /// <summary>
    /// The images as batches for a model input of shape [N, 1, height, width], ready for
    /// <see cref="PreparedModel.Calibrate"/>. Each batch is a fresh copy, produced as it is enumerated.
    /// </summary>
    /// <param name="inputName">The model input the tensors bind to.</param>
    /// <param name="batchSize">Images per batch (the last batch may be smaller).</param>
    public IEnumerable<IReadOnlyList<NamedTensor>> Batches(string inputName = "input", int batchSize = 64)
    {
        ArgumentException.ThrowIfNullOrEmpty(inputName);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        return Iterate();

        IEnumerable<IReadOnlyList<NamedTensor>> Iterate()
        {
            for (int start = 0; start < Count; start += batchSize)
            {
                int n = Math.Min(batchSize, Count - start);
                yield return [NamedTensor.FromFloats(inputName, Images.AsSpan(start * ImageSize, n * ImageSize).ToArray(), n, 1, Height, Width)];
            }
        }
    }

    /// <summary>Loads the train or test split.</summary>
    /// <param name="directory">Folder with <c>{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]</c>.</param>
    /// <param name="train">The training split, else the test split.</param>
    /// <param name="maxCount">Load at most this many samples (the first ones).</param>
    /// <param name="normalize">Apply the bundled models' normalisation; false gives raw 0–255 values.</param>
    public static FashionMnist Load(string directory = DefaultDirectory, bool train = false, int? maxCount = null, bool normalize = true)
    {
        string prefix = train ? "train" : "t10k";
        string images = Find(directory, $"{prefix}-images-idx3-ubyte");
        string labels = Find(directory, $"{prefix}-labels-idx1-ubyte");
        var (imageDims, pixels) = IdxReader.ReadBytes(images);
        var (labelDims, labelBytes) = IdxReader.ReadBytes(labels);
        if (imageDims.Length != 3 || labelDims.Length != 1 || imageDims[0] != labelDims[0])
            throw new InvalidDataException($"'{images}' ({string.Join("×", imageDims)}) and '{labels}' ({string.Join("×", labelDims)}) do not pair up.");
        int n = Math.Min(imageDims[0], maxCount ?? int.MaxValue);
        int size = imageDims[1] * imageDims[2];
        var data = new float[n * size];
        for (int i = 0; i < data.Length; i++)
            data[i] = normalize ? (pixels[i] / 255f - Mean) / Std : pixels[i];
        var y = new int[n];
        for (int i = 0; i < n; i++)
            y[i] = labelBytes[i];
        return new FashionMnist(data, y, imageDims[1], imageDims[2]);
    }

    private static string Find(string directory, string name)
    {
        foreach (var candidate in new[] { name + ".gz", name })
        {
            string path = Path.Combine(directory, candidate);
            if (File.Exists(path))
                return path;
        }

        throw new FileNotFoundException($"'{name}[.gz]' is not in '{directory}'. On Debian: apt-get install dataset-fashion-mnist.", Path.Combine(directory, name));
    }
}
