using BenchmarkDotNet.Running;
using MLNet.Quantization.Benchmarks;

// `report` regenerates docs/benchmarks.md's performance tables (side-by-side ratios); anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "report")
    return PerformanceReport.Run(args[1..]);
if (args.Length > 0 && args[0] == "dynamic-scoring")
    return DynamicScoringReport.Run(args[1..]);
if (args.Length > 0 && args[0] == "dynamic-weights")
    return DynamicWeightsReport.Run(args[1..]);
if (args.Length > 0 && args[0] == "op-profile")
    return OpProfileReport.Run(args[1..]);
if (args.Length > 0 && args[0] == "attention")
    return AttentionReport.Run(args[1..]);
if (args.Length > 0 && args[0] == "dynamic-profile")
    return DynamicScoringProfile.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(PerformanceReport).Assembly).Run(args);
return 0;
