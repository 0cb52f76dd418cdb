using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Calibration;

/// <summary>
/// An observer's kind and settings in a statistics file: enough to rebuild an empty observer of the same kind
/// (<see cref="Read"/>), so statistics files merge without the model, and to tell whether a file's observer is the one
/// a prepared model expects (<see cref="ToBytes"/>).
/// </summary>
internal static class ObserverSettings
{
    /// <summary>The most histogram bins a file may declare.</summary>
    public const int MaxBins = 1 << 20;

    private enum Kind : byte
    {
        MinMax = 1,
        MovingAverageMinMax = 2,
        PerChannelMinMax = 3,
        MovingAveragePerChannelMinMax = 4,
        Histogram = 5,
        Percentile = 6,
        Entropy = 7,
        Placeholder = 8,
    }

    /// <summary>The settings' bytes, as <see cref="Write"/> writes them.</summary>
    public static byte[] ToBytes(Observer observer)
    {
        var writer = new StatisticsWriter();
        Write(writer, observer);
        return writer.ToArray();
    }

    /// <exception cref="NotSupportedException">An observer type defined outside this library, or derived from one of its observers.</exception>
    public static void Write(StatisticsWriter writer, Observer observer)
    {
        switch (observer)
        {
            case MovingAverageMinMaxObserver m:
                writer.WriteByte((byte)Kind.MovingAverageMinMax);
                writer.WriteSingle(m.AveragingConstant);
                break;
            case MinMaxObserver when observer.GetType() == typeof(MinMaxObserver):
                writer.WriteByte((byte)Kind.MinMax);
                break;
            case MovingAveragePerChannelMinMaxObserver m:
                writer.WriteByte((byte)Kind.MovingAveragePerChannelMinMax);
                writer.WriteSingle(m.AveragingConstant);
                break;
            case PerChannelMinMaxObserver when observer.GetType() == typeof(PerChannelMinMaxObserver):
                writer.WriteByte((byte)Kind.PerChannelMinMax);
                break;
            case HistogramObserver h:
                writer.WriteByte((byte)Kind.Histogram);
                writer.WriteInt32(h.Bins);
                break;
            case PercentileObserver p:
                writer.WriteByte((byte)Kind.Percentile);
                writer.WriteDouble(p.Percentile);
                writer.WriteInt32(p.Bins);
                writer.WriteBool(p.Symmetric);
                break;
            case EntropyObserver e:
                writer.WriteByte((byte)Kind.Entropy);
                writer.WriteInt32(e.Bins);
                writer.WriteInt32(e.QuantizedBins);
                break;
            case PlaceholderObserver:
                writer.WriteByte((byte)Kind.Placeholder);
                break;
            default:
                throw new NotSupportedException($"{observer.GetType().Name} has no statistics-file form; only this library's observers can be saved with PreparedModel.SaveStatistics.");
        }

        var o = observer.Options;
        writer.WriteByte((byte)o.DataType);
        writer.WriteByte((byte)o.QScheme);
        writer.WriteBool(o.ReduceRange);
        writer.WriteOptionalInt32(o.QuantMin);
        writer.WriteOptionalInt32(o.QuantMax);
        writer.WriteSingle(o.Eps);
        writer.WriteInt32(o.ChannelAxis);
    }

    /// <summary>Reads settings and builds an empty observer from them; settings the observer refuses are named with the file.</summary>
    public static Observer Read(StatisticsReader reader)
    {
        var kind = (Kind)reader.ReadByte();
        float constant = kind is Kind.MovingAverageMinMax or Kind.MovingAveragePerChannelMinMax ? reader.ReadSingle() : 0f;
        double percentile = kind == Kind.Percentile ? reader.ReadDouble() : 0;
        int bins = kind is Kind.Histogram or Kind.Percentile or Kind.Entropy ? Bins(reader) : 0;
        bool symmetric = kind == Kind.Percentile && reader.ReadBool();
        int quantizedBins = kind == Kind.Entropy ? reader.ReadInt32() : 0;
        var dataType = (QuantDataType)reader.ReadByte();
        var scheme = (QScheme)reader.ReadByte();
        if (!Enum.IsDefined(dataType) || !Enum.IsDefined(scheme))
            throw reader.Error($"unknown data type {(int)dataType} or scheme {(int)scheme}");
        var options = new ObserverOptions(dataType, scheme, reader.ReadBool(), reader.ReadOptionalInt32(), reader.ReadOptionalInt32(), reader.ReadSingle(), reader.ReadInt32());
        if (!float.IsFinite(options.Eps) || options.Eps <= 0)
            throw reader.Error($"the observer's eps is {options.Eps}");
        try
        {
            return kind switch
            {
                Kind.MinMax => new MinMaxObserver(options),
                Kind.MovingAverageMinMax => new MovingAverageMinMaxObserver(options, constant),
                Kind.PerChannelMinMax => new PerChannelMinMaxObserver(options),
                Kind.MovingAveragePerChannelMinMax => new MovingAveragePerChannelMinMaxObserver(options, constant),
                Kind.Histogram => new HistogramObserver(options, bins),
                Kind.Percentile => new PercentileObserver(options, percentile, bins, symmetric),
                Kind.Entropy => new EntropyObserver(options, bins, quantizedBins),
                Kind.Placeholder => new PlaceholderObserver(options),
                _ => throw reader.Error($"unknown observer kind {(int)kind}"),
            };
        }
        catch (ArgumentException e)
        {
            throw reader.Error($"invalid observer settings: {e.Message}");
        }
    }

    /// <summary>A bin count whose histogram the rest of the file can hold (8 bytes a bin), so a hostile count allocates nothing.</summary>
    private static int Bins(StatisticsReader reader)
    {
        int bins = reader.ReadInt32();
        if (bins < 2 || bins > MaxBins || (long)bins * sizeof(double) > reader.Remaining)
            throw reader.Error($"a histogram declares {bins} bins; at most {MaxBins}, and no more than the {reader.Remaining} bytes left can hold");
        return bins;
    }
}
