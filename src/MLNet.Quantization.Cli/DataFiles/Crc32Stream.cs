namespace MLNet.Quantization.Cli.DataFiles;

/// <summary>
/// A read-only stream over a zip entry that computes the CRC-32 (IEEE 802.3, as zip uses) of what is read, and at the
/// end of the entry compares it with the one the archive declares. <see cref="System.IO.Compression"/> does not.
/// </summary>
internal sealed class Crc32Stream(Stream inner, uint expected, string name) : Stream
{
    private static readonly uint[] Table = BuildTable();
    private uint _crc = 0xFFFFFFFF;
    private bool _checked;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    /// <exception cref="CliException">The entry ended and its CRC-32 differs from the declared one.</exception>
    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        uint crc = _crc;
        foreach (byte b in buffer[..n])
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        _crc = crc;
        if (n == 0 && buffer.Length > 0 && !_checked)
        {
            _checked = true;
            uint actual = ~_crc;
            if (actual != expected)
                throw new CliException($"'{name}' fails its CRC-32 check (archive says {expected:x8}, data gives {actual:x8}); the archive is corrupt");
        }

        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            inner.Dispose();
        base.Dispose(disposing);
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            table[i] = c;
        }

        return table;
    }
}
