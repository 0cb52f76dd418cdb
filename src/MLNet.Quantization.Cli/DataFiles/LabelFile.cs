namespace MLNet.Quantization.Cli.DataFiles;

/// <summary>Reads a class-label file: <c>.npy</c> of int64 or int32 with shape [N].</summary>
internal static class LabelFile
{
    /// <summary>The labels; <paramref name="option"/> names the option in errors.</summary>
    public static long[] Read(string path, string option)
    {
        var y = DataFileErrors.Guard(path, () => NpyReader.Read(path, ValueKind.Int64));
        if (y.Shape.Length != 1 || y.DType is not ("<i8" or "<i4"))
            throw new CliException($"{option}: '{path}' must be int64 or int32 with shape [N], got {y.DType} [{string.Join(", ", y.Shape)}]");
        return y.Int64s!;
    }
}
