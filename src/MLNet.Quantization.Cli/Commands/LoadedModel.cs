using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Cli.Commands;

/// <summary>
/// The float model as <c>quantize</c>, <c>calibrate</c> and <c>convert</c> read it: loaded and admitted (within the
/// size limits, not quantized already), the <see cref="PrepareOptions"/> their options give, and a graph with
/// <c>--input-shape</c> applied that the quantizer's <c>--exclude</c> is checked against. <see cref="Prepare"/> then
/// runs <see cref="QuantizationFlow.Prepare"/> (opset upgrade, fixed-batch handling, folding, annotation, observers)
/// with the quantizer the options choose, so every command prepares a model the same way.
/// </summary>
internal sealed class LoadedModel(QuantizeCommand.Settings settings, OnnxModel model, OnnxGraph graph, PrepareOptions options)
{
    /// <summary>The float model as loaded.</summary>
    public OnnxModel Model => model;

    /// <summary>A copy of the model's graph with <c>--input-shape</c> applied.</summary>
    public OnnxGraph Graph => graph;

    /// <summary>The options of <see cref="QuantizationFlow.Prepare"/>, progress going to the console.</summary>
    public PrepareOptions Options => options;

    /// <summary>Loads <c>--model</c> and admits it.</summary>
    /// <exception cref="CliException">The file does not exist, or <c>--input-shape</c> does not fit the model.</exception>
    public static LoadedModel Load(QuantizeCommand.Settings s, CliConsole ui)
    {
        if (!File.Exists(s.Model))
            throw new CliException($"--model: '{s.Model}' does not exist");
        var model = OnnxModel.Load(s.Model);
        var prepareOptions = OptionsFor(s, ui.StageProgress);
        ModelAdmission.CheckNotQuantized(model, ModelAdmission.CheckSize(model, prepareOptions)); // before the graph copy below
        var graph = OnnxGraph.FromModel(model);
        InputShapeOption.Apply(graph, s.InputShapes);
        return new LoadedModel(s, model, graph, prepareOptions);
    }

    /// <summary>A new quantizer as the options configure it, static or <paramref name="dynamic"/>.</summary>
    public X86Quantizer Quantizer(bool dynamic) => QuantizeCommand.BuildQuantizer(settings, dynamic, graph);

    /// <summary>Prepares the model with a new quantizer of <c>--mode</c> (static or dynamic).</summary>
    public PreparedModel Prepare(CancellationToken token) =>
        QuantizationFlow.Prepare(model, Quantizer(settings.Mode == "dynamic"), options, token);

    /// <summary>The prepare options the settings give.</summary>
    private static PrepareOptions OptionsFor(QuantizeCommand.Settings s, IProgress<QuantizationProgress>? progress) => new()
    {
        InputShapes = s.InputShapes,
        MaxNodeCount = s.MaxNodes,
        CalibrationMemoryBudgetBytes = (long)s.CalibrationMemoryMB << 20,
        MaxFoldedTensorBytes = s.MaxFoldedBytes,
        Progress = progress,
        BiasCorrection = s.BiasCorrection,
        CrossLayerEqualization = s.CrossLayerEqualization,
        SmoothQuantAlpha = s.SmoothQuant,
    };
}
