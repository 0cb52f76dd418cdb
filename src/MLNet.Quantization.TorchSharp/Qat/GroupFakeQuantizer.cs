using System.Buffers;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Quantizers;
using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp.Qat;

/// <summary>
/// The fake quantization of one prepared group (PT2E's shared observer): while training it feeds each value to the
/// group's observer and fake-quantizes with the observer's current qparams, as PyTorch's <c>FakeQuantize</c> /
/// <c>FusedMovingAvgObsFakeQuantize</c> do; in evaluation it only reads the qparams.
/// </summary>
internal sealed class GroupFakeQuantizer
{
    private readonly ObserverGroup _group;

    public GroupFakeQuantizer(ObserverGroup group)
    {
        if (!group.IsFakeQuantized)
            throw new ArgumentException($"{group} has no fake quantization (derived qparams are computed at convert).", nameof(group));
        if (group.Kind != QuantGroupKind.Fixed && group.Observer is null)
            throw new ArgumentException($"{group} has no observer.", nameof(group));
        _group = group;
    }

    public int Id => _group.Id;

    public QuantGroupKind Kind => _group.Kind;

    /// <summary>Fake-quantizes <paramref name="x"/>; observes it first when <paramref name="observe"/>.</summary>
    /// <remarks>
    /// Dynamic groups quantize with the current tensor's range (PyTorch's dynamic QAT: MovingAverageMinMaxObserver with
    /// averaging constant 1). An observer that has seen nothing yet leaves the tensor in float.
    /// </remarks>
    public Tensor Forward(Tensor x, bool observe)
    {
        var qparams = _group.Kind switch
        {
            QuantGroupKind.Fixed => ((FixedQParamsQuantizationSpec)_group.Spec).ToQParams(),
            QuantGroupKind.Dynamic => ObserveInto(new MovingAverageMinMaxObserver(_group.Observer!.Options, averagingConstant: 1f), x).CalculateQParams(),
            _ => ObservedQParams(x, observe),
        };
        return qparams is null ? x.alias() : FakeQuantize.Apply(x, qparams);
    }

    private QParams? ObservedQParams(Tensor x, bool observe)
    {
        var observer = _group.Observer!;
        if (observe)
            ObserveInto(observer, x);
        return observer.HasObservations ? observer.CalculateQParams() : null;
    }

    /// <summary>
    /// Feeds the tensor's values to <paramref name="observer"/>. Min/max observers (plain, moving-average, per channel)
    /// only need each batch's range, so libtorch reduces the tensor first and the observer sees the (min, max) pairs —
    /// the same update as the whole tensor when every value is finite; otherwise (NaN or ±Inf, which observers skip) and
    /// for any other observer the values are copied out whole.
    /// </summary>
    internal static Observer ObserveInto(Observer observer, Tensor x)
    {
        using var scope = NewDisposeScope();
        var detached = x.detach();
        var type = observer.GetType();
        if (type == typeof(MinMaxObserver) || type == typeof(MovingAverageMinMaxObserver))
        {
            float min = detached.min().item<float>(), max = detached.max().item<float>();
            if (float.IsFinite(min) && float.IsFinite(max))
            {
                observer.Observe([min, max], [2]);
                return observer;
            }
        }
        else if ((type == typeof(PerChannelMinMaxObserver) || type == typeof(MovingAveragePerChannelMinMaxObserver)) && detached.dim() >= 2
            && observer.Options.ChannelAxis is int axis && axis >= 0 && axis < detached.dim() && ObservePerChannelRange(observer, detached, axis))
        {
            return observer;
        }

        ObserveAll(observer, detached);
        return observer;
    }

    /// <summary>Observes per-channel (min, max) as a tensor whose channel axis is <paramref name="axis"/> and one other axis holds the pair.</summary>
    private static bool ObservePerChannelRange(Observer observer, Tensor x, int axis)
    {
        var others = Enumerable.Range(0, (int)x.dim()).Where(d => d != axis).Select(d => (long)d).ToArray();
        var mins = x.amin(others).data<float>().ToArray();
        var maxs = x.amax(others).data<float>().ToArray();
        if (!mins.All(float.IsFinite) || !maxs.All(float.IsFinite))
            return false;
        int channels = mins.Length;
        int pairAxis = axis == 0 ? 1 : 0;
        var shape = Enumerable.Repeat(1, (int)x.dim()).ToArray();
        shape[axis] = channels;
        shape[pairAxis] = 2;
        var values = new float[2 * channels];
        for (int c = 0; c < channels; c++)
        {
            // C order: the pair axis comes before the channel axis when pairAxis < axis
            int minIndex = pairAxis < axis ? c : 2 * c;
            int maxIndex = pairAxis < axis ? channels + c : 2 * c + 1;
            values[minIndex] = mins[c];
            values[maxIndex] = maxs[c];
        }

        observer.Observe(values, shape);
        return true;
    }

    private static void ObserveAll(Observer observer, Tensor x)
    {
        using var values = x.contiguous();
        int count = checked((int)values.numel());
        var shape = values.shape.Select(d => checked((int)d)).ToArray();
        var buffer = ArrayPool<float>.Shared.Rent(Math.Max(count, 1));
        try
        {
            var span = buffer.AsSpan(0, count);
            values.data<float>().CopyTo(span);
            observer.Observe(span, shape.Length == 0 ? [1] : shape);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }
}
