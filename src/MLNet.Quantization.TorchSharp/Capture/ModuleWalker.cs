using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp.Capture;

/// <summary>
/// Walks a module tree in forward order: <c>Sequential</c> runs its named children in order, <see cref="Residual"/>
/// adds its body to its shortcut, and leaf modules become ONNX nodes. Any other module (a custom container, or a leaf
/// type not listed here) fails with its path and type, since its forward cannot be known without running it.
/// </summary>
internal static class ModuleWalker
{
    public static CapturedTensor Capture(GraphBuilder builder, string path, nn.Module module, CapturedTensor x)
    {
        var scope = new CaptureScope(builder, path, module);
        switch (module)
        {
            case Sequential sequential:
                foreach (var (name, child) in sequential.named_children())
                    x = Capture(builder, Child(path, name), child, x);
                return x;
            case Residual residual:
                return CaptureResidual(scope, residual, x);
            case Identity:
            case Dropout or Dropout1d or Dropout2d:
                return x; // eval-mode identities
            case Linear linear:
                return LinearCapture.Capture(scope, linear, x);
            case Conv1d conv:
                return ConvCapture.Capture(scope, conv, 1, x);
            case Conv2d conv:
                return ConvCapture.Capture(scope, conv, 2, x);
            case BatchNorm1d bn:
                return NormCapture.BatchNorm(scope, bn, [2, 3], x);
            case BatchNorm2d bn:
                return NormCapture.BatchNorm(scope, bn, [4], x);
            case LayerNorm ln:
                return NormCapture.LayerNorm(scope, ln, x);
            case ReLU:
                return ActivationCapture.Simple(scope, "Relu", x);
            case Sigmoid:
                return ActivationCapture.Simple(scope, "Sigmoid", x);
            case Tanh:
                return ActivationCapture.Simple(scope, "Tanh", x);
            case ReLU6:
                return ActivationCapture.Relu6(scope, x);
            case GELU gelu:
                return ActivationCapture.Gelu(scope, gelu, x);
            case MaxPool2d pool:
                return PoolCapture.MaxPool(scope, pool, x);
            case AvgPool2d pool:
                return PoolCapture.AvgPool(scope, pool, x);
            case AdaptiveAvgPool2d pool:
                return PoolCapture.AdaptiveAvgPool(scope, pool, x);
            case Flatten flatten:
                return FlattenCapture.Capture(scope, flatten, x);
            default:
                throw scope.Fail(module.named_children().Any()
                    ? "only Sequential and Residual containers can be captured; a custom module's forward cannot be read. Express it with Sequential and Residual."
                    : "this module type is not supported. Supported: Sequential, Residual, Linear, Conv1d, Conv2d, BatchNorm1d, BatchNorm2d, LayerNorm, ReLU, ReLU6, GELU, Sigmoid, Tanh, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), Flatten, Dropout, Identity.");
        }
    }

    private static CapturedTensor CaptureResidual(CaptureScope scope, Residual residual, CapturedTensor x)
    {
        var body = Capture(scope.Builder, Child(scope.Path, "body"), residual.Body, x);
        var shortcut = residual.Shortcut is null ? x : Capture(scope.Builder, Child(scope.Path, "shortcut"), residual.Shortcut, x);
        if (!body.Shape.SequenceEqual(shortcut.Shape))
            throw scope.Fail($"its body gives {body.Describe()} but its shortcut gives {shortcut.Describe()}; they must match.");
        return scope.Builder.AddNode("Add", scope.NodeName("Add"), [body.Name, shortcut.Name], body.Shape, body.BatchLeading && shortcut.BatchLeading);
    }

    private static string Child(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";
}
