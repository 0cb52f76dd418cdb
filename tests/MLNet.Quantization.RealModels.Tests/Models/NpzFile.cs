using System.IO.Compression;
using System.Text;

namespace MLNet.Quantization.RealModels.Tests.Models;

/// <summary>Writes NumPy <c>.npz</c> archives of float32 arrays (format 1.0 <c>.npy</c> entries, C order), one per model input name.</summary>
internal static class NpzFile
{
    public static void Write(string path, string name, float[] data, int[] shape)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        using var entry = zip.CreateEntry(name + ".npy", CompressionLevel.Fastest).Open();
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({string.Join(", ", shape)},), }}";
        int unpadded = 6 + 2 + 2 + dict.Length + 1;
        string header = dict + new string(' ', (64 - unpadded % 64) % 64) + "\n";
        entry.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)(header.Length & 0xFF), (byte)(header.Length >> 8)]);
        entry.Write(Encoding.ASCII.GetBytes(header));
        var bytes = new byte[data.Length * sizeof(float)];
        Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
        entry.Write(bytes);
    }
}
