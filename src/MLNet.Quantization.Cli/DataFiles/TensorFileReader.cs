namespace MLNet.Quantization.Cli.DataFiles;

/// <summary>A model input a data file is read for: its name, the values it takes, and its shape without the batch dimension (-1: symbolic).</summary>
internal sealed record DataInput(string Name, ValueKind Kind, int[] SampleShape);

/// <summary>Reads model input samples from <c>.npy</c>, <c>.npz</c> (one array per input name) or <c>.csv</c> (one flattened sample per row).</summary>
internal static class TensorFileReader
{
    /// <summary>
    /// Arrays by input name, each at most <paramref name="maxRows"/> samples; a .npy or .csv is the array of the first
    /// of <paramref name="inputs"/>, a .npz must hold one per input.
    /// </summary>
    /// <exception cref="CliException">The file is missing, malformed, ambiguous or too large; the message names it.</exception>
    public static Dictionary<string, NpyArray> Read(string path, IReadOnlyList<DataInput> inputs, int maxRows)
    {
        var first = inputs[0];
        string ext = Extension(path);
        return DataFileErrors.Guard(path, () => ext switch
        {
            ".npy" => new Dictionary<string, NpyArray> { [first.Name] = NpyReader.Read(path, first.Kind, maxRows) },
            ".npz" => NpzReader.Read(path, inputs.ToDictionary(i => i.Name, i => i.Kind, StringComparer.Ordinal), maxRows),
            _ => new Dictionary<string, NpyArray> { [first.Name] = CsvReader.Read(path, CsvSampleShape(path, first), first.Kind, maxRows) },
        });
    }

    /// <summary>The data file's extension in lower case: <c>.npy</c>, <c>.npz</c> or <c>.csv</c>.</summary>
    /// <exception cref="CliException">The file does not exist, or has another extension.</exception>
    public static string Extension(string path)
    {
        if (!File.Exists(path))
            throw new CliException($"data file '{path}' does not exist");
        string ext = Path.GetExtension(path).ToLowerInvariant();
        return ext is ".npy" or ".npz" or ".csv" ? ext : throw new CliException($"data file '{path}' must be .npy, .npz or .csv");
    }

    /// <summary>The sample shape a .csv row of <paramref name="input"/> has; symbolic sizes are refused.</summary>
    public static int[] CsvSampleShape(string path, DataInput input)
    {
        if (input.SampleShape.Any(d => d <= 0))
        {
            throw new CliException(
                $"'{path}': a .csv row is one sample of input '{input.Name}', whose shape [N, {string.Join(", ", input.SampleShape.Select(d => d > 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?"))}] has symbolic dimensions; give their sizes with --input-shape {input.Name}=...");
        }

        return input.SampleShape;
    }
}

/// <summary>Turns what reading a data file can throw, besides <see cref="CliException"/>, into a <see cref="CliException"/> naming the file.</summary>
internal static class DataFileErrors
{
    /// <summary>Runs <paramref name="read"/>; an overflow, out-of-memory, corrupt-archive or I/O failure becomes bad input naming <paramref name="path"/>.</summary>
    public static T Guard<T>(string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (OverflowException)
        {
            throw new CliException($"data file '{path}' declares sizes too large to compute (arithmetic overflow)");
        }
        catch (OutOfMemoryException)
        {
            throw new CliException($"data file '{path}' is too large to load into memory");
        }
        catch (InvalidDataException e)
        {
            throw new CliException($"data file '{path}' is corrupt ({e.Message})");
        }
        catch (IOException e)
        {
            throw new CliException($"data file '{path}' could not be read ({e.Message})");
        }
    }
}
