namespace MLNet.Quantization.Quantizers;

/// <summary>
/// A tensor that uses the same quantization parameters (the same observer) as another edge or node output;
/// PyTorch's <c>SharedQuantizationSpec</c>.
/// </summary>
/// <remarks>
/// Sharing is transitive: A sharing with B and B with C puts A, B and C in one group with one observer, which sees
/// the values of every tensor in the group. The group's parameters come from the group's one
/// <see cref="QuantizationSpec"/> (or <see cref="FixedQParamsQuantizationSpec"/>); a group whose members have
/// different non-shared specs is an error at preparation.
/// Typical uses: the inputs of a Concat or an Add that must agree, and ops such as MaxPool whose output keeps the
/// input's parameters.
/// </remarks>
/// <param name="EdgeOrNode">The input edge or node output to share with.</param>
public sealed record SharedQuantizationSpec(QuantizationEdge EdgeOrNode) : QuantizationSpecBase
{
    /// <summary>The input edge or node output whose parameters this tensor shares.</summary>
    public QuantizationEdge EdgeOrNode { get; init; } = EdgeOrNode ?? throw new ArgumentNullException(nameof(EdgeOrNode));

    /// <inheritdoc />
    public override void Validate()
    {
        if (EdgeOrNode is null)
            throw new ArgumentException($"{nameof(SharedQuantizationSpec)}: EdgeOrNode is null.");
    }
}
