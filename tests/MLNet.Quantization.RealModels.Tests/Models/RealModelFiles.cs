namespace MLNet.Quantization.RealModels.Tests.Models;

/// <summary>
/// Where the build put the third-party models: ResNet18 by its NuGet package's props, the PaddleOCR models by the
/// project's FetchOcrModels target (npm), mnist-8 from tests/TestData.
/// </summary>
internal static class RealModelFiles
{
    /// <summary>ML.NET's ResNet18 featurizer (CNTK 2.6, opset 8): <c>Input247</c> [1,3,224,224] → 512 features.</summary>
    public static string ResNet18 => Existing("DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");

    /// <summary>Its preprocessing: RGB planes 0–255 to BGR minus the mean image (<c>OriginalInput</c> → <c>PreprocessedInput</c>).</summary>
    public static string ResNetPreprocess => Existing("DnnImageModels", "ResNetPrepOnnx", "ResNetPreprocess.onnx");

    /// <summary>PP-OCRv4 text detector (Paddle2ONNX, opset 11): <c>x</c> [N,3,H,W] → probability map [N,1,H,W].</summary>
    public static string OcrDetector => Existing("OcrModels", "ch_PP-OCRv4_det_infer.onnx");

    /// <summary>PaddleOCR mobile v2.0 text-line orientation classifier (opset 9): <c>x</c> [N,3,48,192] → [N,2] (0°, 180°).</summary>
    public static string OcrClassifier => Existing("OcrModels", "ch_ppocr_mobile_v2.0_cls_infer.onnx");

    /// <summary>The ONNX model zoo's mnist-8 (opset 8), with the MNIST test split next to it.</summary>
    public static string Mnist8 => Existing("TestData", "mnist", "mnist-8.onnx");

    private static string Existing(params string[] parts)
    {
        string path = Path.Combine([AppContext.BaseDirectory, .. parts]);
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{path}' is missing; the build fetches it (see MLNet.Quantization.RealModels.Tests.csproj).", path);
        return path;
    }
}
