namespace MLNet.Quantization.Cli.DataFiles;

/// <summary>An array of a data file read a few rows at a time (<see cref="NpyRowStream"/>, <see cref="CsvRowStream"/>).</summary>
internal interface IRowStream : IDisposable
{
    /// <summary>The array's shape, rows first.</summary>
    int[] Shape { get; }

    /// <summary>Decodes the next <paramref name="rows"/> rows (shape [rows, ...]).</summary>
    NpyArray ReadRows(int rows);

    /// <summary>Checks what follows the rows read, once they are all read.</summary>
    void ReadToEnd();
}
