using System.Reflection;
using System.Xml.Linq;
using Microsoft.ML;
using MLNet.Quantization.Diagnostics;

namespace MLNet.Quantization.Tests.Docs;

/// <summary>
/// The XML docs users meet first in IntelliSense: every entry point documents each parameter, what it returns, what it
/// throws, and shows an example; the estimator carries ML.NET's "Estimator Characteristics" table.
/// </summary>
[TestClass]
public sealed class EntryPointDocsTests
{
    private static readonly Lazy<XDocument> Docs = new(() =>
        XDocument.Load(Path.Combine(AppContext.BaseDirectory, "MLNet.Quantization.xml")));

    private static IEnumerable<MethodInfo> EntryPoints() =>
    [
        .. typeof(QuantizationCatalog).GetMethods(BindingFlags.Public | BindingFlags.Static).Where(m => m.Name == "Quantize"),
        typeof(QuantizationFlow).GetMethod(nameof(QuantizationFlow.Prepare))!,
        typeof(PreparedModel).GetMethod(nameof(PreparedModel.Calibrate))!,
        typeof(PreparedModel).GetMethod(nameof(PreparedModel.Convert))!,
        .. typeof(NumericSuite).GetMethods(BindingFlags.Public | BindingFlags.Static).Where(m => m.Name == nameof(NumericSuite.Compare)),
        typeof(AccuracyAwareQuantizer).GetMethod(nameof(AccuracyAwareQuantizer.Run))!,
        typeof(OutputSqnrRepair).GetMethod(nameof(OutputSqnrRepair.Run))!,
        typeof(SpeedAwarePlacement).GetMethod(nameof(SpeedAwarePlacement.Run))!,
        typeof(QuantizationEstimator).GetMethod(nameof(QuantizationEstimator.Fit))!,
        typeof(PreparedModel).GetMethod(nameof(PreparedModel.SaveStatistics), [typeof(string)])!,
        typeof(PreparedModel).GetMethod(nameof(PreparedModel.LoadStatistics), [typeof(string), typeof(Calibration.StatisticsLoadMode)])!,
        typeof(QuantizedModelTransformer).GetMethod(nameof(QuantizedModelTransformer.Load), [typeof(MLContext), typeof(string), typeof(Microsoft.ML.DataViewSchema).MakeByRefType(), typeof(int), typeof(int?)])!,
    ];

    /// <summary>Entry points that must carry an example of their own (overloads may share one).</summary>
    private static readonly string[] WithExample = ["Quantize", "Prepare", "Convert", "Compare", "Run", "SaveStatistics", "Load"];

    [TestMethod]
    public void EveryEntryPointDocumentsParametersReturnsAndExceptions()
    {
        var problems = new List<string>();
        foreach (var method in EntryPoints())
        {
            var member = Member(method);
            string label = $"{method.DeclaringType!.Name}.{method.Name}({string.Join(", ", method.GetParameters().Select(p => p.ParameterType.Name))})";
            if (member is null)
            {
                problems.Add($"{label}: no XML docs");
                continue;
            }

            var documented = member.Elements("param").Select(p => (string?)p.Attribute("name")).ToHashSet();
            foreach (var p in method.GetParameters().Where(p => !documented.Contains(p.Name)))
                problems.Add($"{label}: no <param> for '{p.Name}'");
            if (method.ReturnType != typeof(void) && member.Element("returns") is null)
                problems.Add($"{label}: no <returns>");
            if (!member.Elements("exception").Any())
                problems.Add($"{label}: no <exception>");
        }

        Assert.IsEmpty(problems, string.Join(Environment.NewLine, problems));
    }

    [TestMethod]
    public void EachEntryPointFamilyShowsAnExample()
    {
        foreach (var name in WithExample)
        {
            var members = EntryPoints().Where(m => m.Name == name).Select(Member).ToList();
            Assert.IsTrue(members.Any(m => m?.Element("example")?.Element("code") is not null), $"{name}: no <example> with <code>");
        }
    }

    [TestMethod]
    public void TheEstimatorHasItsCharacteristicsTableAndTheOptionsAnExample()
    {
        var estimator = TypeMember(typeof(QuantizationEstimator));
        StringAssert.Contains(estimator?.Element("remarks")?.Value ?? "", "Estimator Characteristics");
        StringAssert.Contains(estimator!.Element("remarks")!.Value, "Does this estimator need to look at the data to train its parameters?");
        Assert.IsNotNull(TypeMember(typeof(QuantizationOptions))?.Element("example")?.Element("code"), "QuantizationOptions has no example");
    }

    [TestMethod]
    public void TheOnnxOptionsNamesAreTheRealOnesAndTheOldNamesForwardToThem()
    {
        var options = new QuantizationOptions { ModelFile = "m.onnx", InputColumns = ["x"], OutputColumns = ["y"], ShapeDictionary = new Dictionary<string, int[]> { ["x"] = [1, 3] } };
#pragma warning disable CS0618 // the obsolete aliases are what this test is about
        Assert.AreEqual("m.onnx", options.ModelPath);
        CollectionAssert.AreEqual(new[] { "x" }, options.InputColumnNames);
        CollectionAssert.AreEqual(new[] { "y" }, options.OutputColumnNames);
        Assert.AreSame(options.ShapeDictionary, options.InputShapes);
        options.ModelPath = "other.onnx";
#pragma warning restore CS0618
        Assert.AreEqual("other.onnx", options.ModelFile);
        foreach (var old in new[] { "ModelPath", "InputColumnNames", "OutputColumnNames", "InputShapes" })
            Assert.IsNotNull(typeof(QuantizationOptions).GetProperty(old)!.GetCustomAttribute<ObsoleteAttribute>(), old + " is not marked obsolete");
    }

    private static XElement? TypeMember(Type type) =>
        Docs.Value.Descendants("member").FirstOrDefault(m => (string?)m.Attribute("name") == "T:" + type.FullName);

    /// <summary>The docs of <paramref name="method"/>, matched by its documentation id.</summary>
    private static XElement? Member(MethodInfo method)
    {
        string parameters = string.Join(",", method.GetParameters().Select(p => DocTypeName(p.ParameterType)));
        string id = $"M:{method.DeclaringType!.FullName}.{method.Name}" + (parameters.Length > 0 ? $"({parameters})" : "");
        return Docs.Value.Descendants("member").FirstOrDefault(m => (string?)m.Attribute("name") == id);
    }

    private static string DocTypeName(Type type)
    {
        if (type.IsArray)
            return DocTypeName(type.GetElementType()!) + "[]";
        if (type.IsByRef)
            return DocTypeName(type.GetElementType()!) + "@";
        if (!type.IsGenericType)
            return type.FullName!;
        string name = type.GetGenericTypeDefinition().FullName!;
        name = name[..name.IndexOf('`')];
        return $"{name}{{{string.Join(",", type.GetGenericArguments().Select(DocTypeName))}}}";
    }
}
