using System.Buffers;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Quantizer;
using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp.Qat;

/// <summary>
/// The fake quantization of one prepared group (PT2E's shared observer): while training it feeds each value to the
/// group's observer and fake-quantizes with the observer's current qparams, as PyTorch's <c>FakeQuantize</c> /
/// <c>FusedMovingAvgObsFakeQuantize</c> do; in evaluation it only reads the qparams.
/// </summary>
internal sealed class GroupFakeQuantizer
{
    private readonly QuantGroup _group;

    public GroupFakeQuantizer(QuantGroup group)
    {
        if (group.Kind is not (QuantGroupKind.Activation or QuantGroupKind.Weight or QuantGroupKind.Dynamic or QuantGroupKind.Fixed))
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

    /// <summary>Copies the tensor's values out and feeds them to <paramref name="observer"/>.</summary>
    internal static Observer ObserveInto(Observer observer, Tensor x)
    {
        using var values = x.detach().contiguous();
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

        return observer;
    }
}
