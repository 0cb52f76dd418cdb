#!/usr/bin/env bash
# Regenerates the figures of docs/real-models.md and docs/benchmarks.md ("Real models") that come from the tool: fused
# Conv/MatMul/Gemm counts and file sizes of the models quantized on rendered data, then, at the real input sizes,
# calibration peak memory and time, and int8-against-fp32 speed at batch 1 and 8, on one thread and on ORT's default
# threads (mlnet-quantize bench, the two models alternating in one run). Needs /usr/bin/python3 with NumPy.
# The task metrics (accuracy, IoU, lines found, feature cosine) are printed by the tests themselves:
#   dotnet test tests/MLNet.Quantization.RealModels.Tests -c Release --logger "console;verbosity=detailed"
# Usage: [ITERATIONS=40] [ROUNDS=3] bench/real-models.sh [OUT_DIR]   (default /tmp/mlnet-real-models)
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

# 2. inspect (ORT's optimized graph) of the models quantized on rendered data: fused-op counts and sizes.
models=(
  "resnet18|$bin/DnnImageModels/ResNet18Onnx/ResNet18.onnx"
  "ppocr_det|$bin/OcrModels/ch_PP-OCRv4_det_infer.onnx"
  "ppocr_cls|$bin/OcrModels/ch_ppocr_mobile_v2.0_cls_infer.onnx"
  "mnist8|$bin/TestData/mnist/mnist-8.onnx"
)
printf '| model | int8 Conv/MatMul/Gemm | fp32 Conv/MatMul/Gemm left | size fp32 → int8 MB |\n|---|---|---|---|\n'
for entry in "${models[@]}"; do
  IFS='|' read -r name float <<<"$entry"
  int8="$out/$name.int8.onnx"
  "$cli" inspect --model "$int8" --json "$out/$name.inspect.json" >/dev/null
  python3 - "$name" "$float" "$int8" "$out/$name.inspect.json" <<'PY'
import json, os, sys
name, f, q, inspect = sys.argv[1:]
ops = json.load(open(inspect))["fused_op_types"]
quant = sum(v for k, v in ops.items() if k.split(":")[-1] in ("QLinearConv", "QLinearMatMul", "QGemm", "MatMulIntegerToFloat", "DynamicQuantizeMatMul", "ConvInteger", "MatMulInteger"))
flt = sum(v for k, v in ops.items() if k.split(":")[-1] in ("Conv", "FusedConv", "NhwcFusedConv", "ConvTranspose", "MatMul", "FusedMatMul", "Gemm", "FusedGemm"))
mb = lambda p: os.path.getsize(p) / 1e6
print(f"| {name} | {quant} | {flt} | {mb(f):.2f} → {mb(q):.2f} |")
PY
done

# 3. Real sizes: quantize each model with the defaults at its real input size on the issue's calibration sizes
#    (ResNet18 512 samples, det 32 pages of 640x640, cls 128 lines; inputs made by bench/real_models_data.py, peak
#    memory and time of the whole quantize process by /usr/bin/time), then int8 against fp32 at batch 1 and 8, with
#    one intra-op thread and with ORT's default threads, ROUNDS rounds (default 3) of ITERATIONS runs each.
rounds=${ROUNDS:-3}
#    Each entry: label|name|data kind (bench/real_models_data.py)|float model|samples|sample shape|--input-shape|extra
#    quantize options (the opt-in levers measured beside the defaults).
sized=(
  "ResNet18 (224×224)|resnet18|resnet18|$bin/DnnImageModels/ResNet18Onnx/ResNet18.onnx|512|3x224x224||"
  "PP-OCRv4 det (640×640)|ppocr_det|ppocr_det|$bin/OcrModels/ch_PP-OCRv4_det_infer.onnx|32|3x640x640|x=1x3x640x640|"
  "PP-OCRv4 det (640×640), \`--elementwise int8\`|ppocr_det_elementwise|ppocr_det|$bin/OcrModels/ch_PP-OCRv4_det_infer.onnx|32|3x640x640|x=1x3x640x640|--elementwise int8"
  "ppocr cls (48×192)|ppocr_cls|ppocr_cls|$bin/OcrModels/ch_ppocr_mobile_v2.0_cls_infer.onnx|128|3x48x192|x=1x3x48x192|"
  "ppocr cls (48×192), \`--speed-aware\`|ppocr_cls_speed|ppocr_cls|$bin/OcrModels/ch_ppocr_mobile_v2.0_cls_infer.onnx|128|3x48x192|x=1x3x48x192|--speed-aware"
)
echo
printf '| model | calibration samples | quantize: peak memory, time | output SQNR | batch 1, 1 thread | batch 8, 1 thread | batch 1, default threads | batch 8, default threads |\n|---|---:|---:|---:|---:|---:|---:|---:|\n'
for entry in "${sized[@]}"; do
  IFS='|' read -r label name kind float samples shape inshape extra <<<"$entry"
  [ -f "$out/$kind.sized.npy" ] || /usr/bin/python3 bench/real_models_data.py "$kind" "$shape" "$samples" "$out/$kind.sized.npy"
  shapearg=(); [ -n "$inshape" ] && shapearg=(--input-shape "$inshape")
  read -r -a extraarg <<<"$extra"
  rm -f "$out/$name.sized.int8.onnx.speed.json"   # a speed-aware run measures afresh
  /usr/bin/time -f '%M %e' -o "$out/$name.sized.time" "$cli" quantize --model "$float" --output "$out/$name.sized.int8.onnx" \
    --calibration-data "$out/$kind.sized.npy" --calibration-samples "$samples" "${shapearg[@]}" "${extraarg[@]}" --json "$out/$name.sized.json" >"$out/$name.sized.log" 2>&1 \
    || { cat "$out/$name.sized.log"; exit 1; }
  for threads in 1 0; do
    for round in $(seq 1 "$rounds"); do
      "$cli" bench --model "$out/$name.sized.int8.onnx" --baseline "$float" --batch 1,8 --threads "$threads" --iterations "${ITERATIONS:-40}" \
        "${shapearg[@]}" --json "$out/$name.sized.t$threads.r$round.json" >/dev/null
    done
  done
  /usr/bin/python3 - "$label" "$out/$name.sized" "$samples" "$rounds" <<'PY'
import json, statistics, sys
label, stem, samples, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
peak_kb, seconds = open(stem + ".time").read().split()
sqnr = json.load(open(stem + ".json")).get("output_sqnr_db")
cells = []
for threads in (1, 0):
    runs = [{e["batch"]: e for e in json.load(open(f"{stem}.t{threads}.r{r}.json"))["results"]} for r in range(1, rounds + 1)]
    for batch in (1, 8):
        ups = [run[batch]["speed_up"] for run in runs]
        fp32 = statistics.median(run[batch]["baseline_median_ms"] for run in runs)
        int8 = statistics.median(run[batch]["median_ms"] for run in runs)
        cells.append(f"{statistics.median(ups):.2f}× ({min(ups):.2f}–{max(ups):.2f}); {fp32:.1f} → {int8:.1f} ms")
sqnr_text = "—" if sqnr is None else f"{sqnr:.1f} dB"
print(f"| {label} | {samples} | {int(peak_kb) / 1024:.0f} MiB, {float(seconds):.0f} s | {sqnr_text} | " + " | ".join(cells) + " |")
PY
done
