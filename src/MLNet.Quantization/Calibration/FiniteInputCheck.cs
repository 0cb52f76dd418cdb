using System.Globalization;
using System.Numerics;

namespace MLNet.Quantization.Calibration;

/// <summary>
/// Refuses calibration inputs holding NaN or ±Inf. Such values spread through the graph, so without this check the
/// fault would surface later as an internal tensor with no finite value; the message names the model input instead.
/// </summary>
internal static class FiniteInputCheck
{
    /// <summary>Throws when a float tensor of the batch holds a non-finite value.</summary>
    /// <param name="batch">The batch's tensors.</param>
    /// <param name="batchNumber">The batch's number, from 1, for the message.</param>
    /// <exception cref="CalibrationException">A value is NaN or infinite (the message names the input, the count and the share).</exception>
    public static void Require(IEnumerable<NamedTensor> batch, int batchNumber)
    {
        foreach (var tensor in batch)
        {
            if (tensor.Floats is not { } values)
                continue;
            long bad = CountNonFinite(values);
            if (bad == 0)
                continue;
            double percent = 100.0 * bad / values.Length;
            throw new CalibrationException(string.Create(CultureInfo.InvariantCulture,
                $"calibration input '{tensor.Name}' has {bad} non-finite value(s) (NaN or ±Inf) of {values.Length} ({Percent(percent)} %) in batch {batchNumber}; calibration needs finite inputs: replace or drop those samples"));
        }
    }

    /// <summary>How many values are NaN or ±Inf.</summary>
    internal static long CountNonFinite(ReadOnlySpan<float> values)
    {
        long bad = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = new Vector<float>(values.Slice(i));
                // x − x is 0 for finite x and NaN for NaN and ±Inf; Equals gives −1 for the finite lanes
                var finite = Vector.Equals(v - v, Vector<float>.Zero);
                bad += Vector<float>.Count + Vector.Sum(finite);
            }
        }

        for (; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
                bad++;
        }

        return bad;
    }

    /// <summary>A share in percent with enough digits that a small one is not shown as 0.</summary>
    private static string Percent(double percent) => percent >= 0.1 ? percent.ToString("0.0", CultureInfo.InvariantCulture) : percent.ToString("G2", CultureInfo.InvariantCulture);
}
