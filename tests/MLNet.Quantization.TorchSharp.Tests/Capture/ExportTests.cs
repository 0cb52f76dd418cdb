using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.TorchSharp.Capture;
using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp.Tests.Capture;

/// <summary>The exported file: names, batch dimension, value infos, opset, weights, and the ONNX checker.</summary>
[TestClass]
public sealed class ExportTests
{
    [TestMethod]
    public void ExportWritesAModelThatTheOnnxCheckerAccepts()
    {
        string dir = Path.Combine(Path.GetTempPath(), "capture-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "mobile.onnx");
            var net = TinyNetworks.MobileNetStyle();
            TorchSharpExporter.Export(net, [1, 1, 28, 28], path);
            var loaded = OnnxModel.Load(path);
            Assert.AreEqual(13L, loaded.OpsetImports[""]);
            using (var session = new InferenceSession(path))
                CaptureCheck.Compare(net, session, [4, 1, 28, 28]);

            if (!File.Exists("/usr/bin/python3") || !PythonHasOnnx())
            {
                Assert.Inconclusive("python3-onnx is not installed; the ONNX checker part was skipped.");
                return;
            }

            foreach (var (name, module) in new (string, nn.Module<Tensor, Tensor>)[] { ("mobile", net), ("resnet", TinyNetworks.ResNetStyle()), ("tokens", TinyNetworks.TokenMlp()) })
            {
                string file = Path.Combine(dir, name + ".onnx");
                TorchSharpExporter.Export(module, [1, 1, 28, 28], file);
                var (exitCode, error) = RunPython("import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", file);
                Assert.AreEqual(0, exitCode, $"onnx.checker on {name}: {error}");
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [TestMethod]
    public void DeclaredShapesAgreeWithOnnxRuntimeShapeInference()
    {
        var graph = TorchSharpExporter.CaptureGraph(TinyNetworks.TokenMlp(), [1, 1, 28, 28]);
        var tensors = graph.Nodes.SelectMany(n => n.Outputs).ToList();
        var inferred = OrtShapeInference.Infer(graph, tensors);
        Assert.HasCount(tensors.Count, inferred);
        foreach (string name in tensors)
        {
            var declared = graph.GetValueInfo(name);
            Assert.IsNotNull(declared, $"value info for {name}");
            Assert.AreEqual(TensorElementType.Float, declared.ElementType);
            Assert.AreEqual(inferred[name].Shape!.Count, declared.Shape!.Count, name);
            for (int i = 0; i < declared.Shape.Count; i++)
            {
                if (i == 0)
                    Assert.AreEqual("batch", declared.Shape[0].Symbol, $"{name} keeps the batch first");
                else
                    Assert.AreEqual(inferred[name].Shape![i].Value, declared.Shape[i].Value, $"{name} dim {i}");
            }
        }
    }

    [TestMethod]
    public void NamesAndBatchCanBeConfigured()
    {
        var options = new CaptureOptions { InputName = "pixels", OutputName = "logits", DynamicBatch = false, GraphName = "net" };
        var graph = TorchSharpExporter.CaptureGraph(nn.Sequential(nn.Flatten(), nn.Linear(12, 3)), [4, 3, 4], options);
        Assert.AreEqual("net", graph.Name);
        Assert.AreEqual("pixels", graph.Inputs.Single().Name);
        CollectionAssert.AreEqual(new long[] { 4, 3, 4 }, graph.Inputs.Single().FixedShape);
        Assert.AreEqual("logits", graph.Outputs.Single().Name);
        CollectionAssert.AreEqual(new long[] { 4, 3 }, graph.Outputs.Single().FixedShape);

        var dynamic = TorchSharpExporter.CaptureGraph(nn.Sequential(nn.Flatten(), nn.Linear(12, 3)), [4, 3, 4]);
        Assert.AreEqual("input", dynamic.Inputs.Single().Name);
        Assert.AreEqual("output", dynamic.Outputs.Single().Name);
        Assert.AreEqual("batch", dynamic.Inputs.Single().Shape![0].Symbol);
        Assert.AreEqual("batch", dynamic.Outputs.Single().Shape![0].Symbol);
    }

    [TestMethod]
    public void AModuleThatComputesNothingBecomesAnIdentity()
    {
        var model = nn.Sequential(nn.Dropout(), nn.Identity());
        CaptureCheck.AssertMatches(model, [3]);
        CollectionAssert.AreEqual(new[] { "Identity" }, CaptureCheck.Ops(model, 1, 3));
    }

    [TestMethod]
    public void WeightsAreCopiedExactlyUnderPyTorchStateDictNames()
    {
        var net = nn.Sequential(("features", nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3))), ("flatten", nn.Flatten()), ("fc", nn.Linear(12, 2)));
        var graph = TorchSharpExporter.CaptureGraph(net, [1, 2, 4, 4]);
        foreach (var (name, parameter) in net.state_dict())
        {
            if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal))
                continue;
            Assert.IsTrue(graph.Initializers.TryGetValue(name, out var initializer), $"initializer {name}");
            CollectionAssert.AreEqual(parameter.shape, initializer.Dims.ToArray(), name);
            CollectionAssert.AreEqual(parameter.data<float>().ToArray(), initializer.ToFloatArray(), name);
        }
    }

    [TestMethod]
    public void TheComparisonDetectsASmallError()
    {
        float[] expected = [1f, -2f, 3f, 0.5f];
        CaptureCheck.AssertClose(expected, [1f, -2f, 3f, 0.5f], "identical");
        Assert.ThrowsExactly<AssertFailedException>(() => CaptureCheck.AssertClose(expected, [1f, -2f, 3.001f, 0.5f], "perturbed"));
    }

    private static bool PythonHasOnnx() => RunPython("import onnx").ExitCode == 0;

    private static (int ExitCode, string Error) RunPython(string code, params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", ["-c", code, .. args]) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = Process.Start(psi)!;
        string error = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, error);
    }
}
