using System.IO.Compression;
using System.Text;

namespace MLNet.Quantization.Cli.Tests.Hostile;

/// <summary>Builds .npy, .npz and .csv data files byte by byte, valid or hostile, for the data-file tests.</summary>
internal static class DataFiles
{
    /// <summary>Values per fmnist sample ([1, 28, 28]).</summary>
    public const int SampleSize = 784;

    /// <summary>The header dict NumPy writes for <paramref name="descr"/> and <paramref name="shape"/>.</summary>
    public static string Dict(string descr, params long[] shape) =>
        $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({string.Join(", ", shape)}{(shape.Length == 1 ? "," : "")}), }}";

    /// <summary>A .npy: magic, <paramref name="version"/>, header <paramref name="dict"/> padded to 64 bytes, then <paramref name="payload"/>.</summary>
    public static byte[] Npy(string dict, byte[] payload, int version = 1)
    {
        int prefix = version == 1 ? 10 : 12;
        string header = dict.PadRight(dict.Length + (64 - (prefix + dict.Length + 1) % 64) % 64) + "\n";
        var ms = new MemoryStream();
        ms.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)version, 0]);
        ms.Write(version == 1 ? BitConverter.GetBytes((ushort)header.Length) : BitConverter.GetBytes((uint)header.Length));
        ms.Write(Encoding.Latin1.GetBytes(header));
        ms.Write(payload);
        return ms.ToArray();
    }

    /// <summary>A float32 .npy of <paramref name="values"/> with <paramref name="shape"/>.</summary>
    public static byte[] FloatNpy(float[] values, params long[] shape)
    {
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return Npy(Dict("<f4", shape), bytes);
    }

    /// <summary>An int64 .npy of shape [N].</summary>
    public static byte[] Int64Npy(long[] values)
    {
        var bytes = new byte[values.Length * 8];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return Npy(Dict("<i8", values.Length), bytes);
    }

    /// <summary><paramref name="count"/> fmnist samples of seeded random values in [0, 1).</summary>
    public static float[] Samples(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count * SampleSize).Select(_ => (float)random.NextDouble()).ToArray();
    }

    /// <summary>Writes a .npz at <paramref name="path"/> with the given entries (name, bytes), deflated unless <paramref name="level"/> says otherwise.</summary>
    public static string Npz(string path, CompressionLevel level, params (string Name, byte[] Bytes)[] entries)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, bytes) in entries)
        {
            using var s = zip.CreateEntry(name, level).Open();
            s.Write(bytes);
        }

        return path;
    }

    /// <summary>
    /// Adds to <paramref name="zip"/> a float32 .npy entry of <paramref name="values"/> zeros, streamed (never in
    /// memory) and deflated, so a few hundred MB of array takes a few hundred KB of file.
    /// </summary>
    public static void AddZeros(ZipArchive zip, string name, long values)
    {
        using var s = zip.CreateEntry(name, CompressionLevel.SmallestSize).Open();
        s.Write(Npy(Dict("<f4", values), []));
        var chunk = new byte[1 << 20];
        for (long left = values * 4; left > 0; left -= chunk.Length)
            s.Write(chunk, 0, (int)Math.Min(left, chunk.Length));
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="name"/> in <paramref name="dir"/>; returns the path.</summary>
    public static string Write(string dir, string name, byte[] bytes)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Rows of comma-separated values in round-trip format.</summary>
    public static string Csv(float[] values, int rowSize) =>
        string.Join("\n", values.Chunk(rowSize).Select(row => string.Join(",", row.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))))) + "\n";
}
