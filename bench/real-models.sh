#!/usr/bin/env bash
# Regenerates the figures of docs/real-models.md and docs/benchmarks.md ("Real models") that come from the tool: fused
# Conv/MatMul/Gemm counts, file sizes, and int8-against-fp32 speed at batch 1 and 8 (mlnet-quantize bench, the two models alternating in one run).
# The task metrics (accuracy, IoU, lines found, feature cosine) are printed by the tests themselves:
#   dotnet test tests/MLNet.Quantization.RealModels.Tests -c Release --logger "console;verbosity=detailed"
# Usage: bench/real-models.sh [OUT_DIR]   (default /tmp/mlnet-real-models)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-/tmp/mlnet-real-models}")
mkdir -p "$out"

# 1. The CLI tests quantize each model with rendered calibration data and keep the .npz and .int8.onnx files in $out.
MLNET_REALMODELS_OUT="$out" dotnet test tests/MLNet.Quantization.RealModels.Tests -c Release --filter "FullyQualifiedName~CliQuantizeTests" >"$out/quantize.log" \
  || { cat "$out/quantize.log"; exit 1; }
bin=tests/MLNet.Quantization.RealModels.Tests/bin/Release/net10.0
dotnet build src/MLNet.Quantization.Cli -c Release -v quiet -nologo >/dev/null
cli=src/MLNet.Quantization.Cli/bin/Release/net10.0/linux-x64/mlnet-quantize

# 2. inspect (ORT's optimized graph) and bench for each: name, float model, input shape for bench.
models=(
  "resnet18|$bin/DnnImageModels/ResNet18Onnx/ResNet18.onnx|"
  "ppocr_det|$bin/OcrModels/ch_PP-OCRv4_det_infer.onnx|x=1x3x480x480"
  "ppocr_cls|$bin/OcrModels/ch_ppocr_mobile_v2.0_cls_infer.onnx|x=1x3x48x192"
  "mnist8|$bin/TestData/mnist/mnist-8.onnx|"
)
printf '| model | int8 Conv/MatMul/Gemm | fp32 Conv/MatMul/Gemm left | size fp32 → int8 MB | batch 1 fp32 → int8 ms (speed-up) | batch 8 fp32 → int8 ms (speed-up) |\n|---|---|---|---|---|---|\n'
for entry in "${models[@]}"; do
  IFS='|' read -r name float shape <<<"$entry"
  int8="$out/$name.int8.onnx"
  shapearg=(); [ -n "$shape" ] && shapearg=(--input-shape "$shape")
  "$cli" inspect --model "$int8" --json "$out/$name.inspect.json" >/dev/null
  "$cli" bench --model "$int8" --baseline "$float" --batch 1,8 --iterations "${ITERATIONS:-40}" "${shapearg[@]}" --json "$out/$name.bench.json" >/dev/null
  python3 - "$name" "$float" "$int8" "$out/$name.inspect.json" "$out/$name.bench.json" <<'PY'
import json, os, sys
name, f, q, inspect, bench = sys.argv[1:]
ops = json.load(open(inspect))["fused_op_types"]
quant = sum(v for k, v in ops.items() if k.split(":")[-1] in ("QLinearConv", "QLinearMatMul", "QGemm", "MatMulIntegerToFloat", "DynamicQuantizeMatMul", "ConvInteger", "MatMulInteger"))
flt = sum(v for k, v in ops.items() if k.split(":")[-1] in ("Conv", "FusedConv", "NhwcFusedConv", "ConvTranspose", "MatMul", "FusedMatMul", "Gemm", "FusedGemm"))
r = {e["batch"]: e for e in json.load(open(bench))["results"]}
cell = lambda b: f'{r[b]["baseline_median_ms"]:.2f} → {r[b]["median_ms"]:.2f} ({r[b]["speed_up"]:.2f}×)'
mb = lambda p: os.path.getsize(p) / 1e6
print(f"| {name} | {quant} | {flt} | {mb(f):.2f} → {mb(q):.2f} | {cell(1)} | {cell(8)} |")
PY
done
