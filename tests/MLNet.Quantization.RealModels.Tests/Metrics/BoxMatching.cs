namespace MLNet.Quantization.RealModels.Tests.Metrics;

/// <summary>One-to-one matching of detected boxes to reference boxes at an IoU threshold, best pairs first.</summary>
internal static class BoxMatching
{
    /// <summary>For each reference box, the index of the detection matched to it, or -1.</summary>
    public static int[] Match(IReadOnlyList<Box> reference, IReadOnlyList<Box> detected, double minIoU)
    {
        var pairs = new List<(double IoU, int Ref, int Det)>();
        for (int r = 0; r < reference.Count; r++)
            for (int d = 0; d < detected.Count; d++)
            {
                double iou = reference[r].IoU(detected[d]);
                if (iou >= minIoU)
                    pairs.Add((iou, r, d));
            }

        var match = Enumerable.Repeat(-1, reference.Count).ToArray();
        var used = new bool[detected.Count];
        foreach (var (_, r, d) in pairs.OrderByDescending(p => p.IoU))
        {
            if (match[r] >= 0 || used[d])
                continue;
            match[r] = d;
            used[d] = true;
        }

        return match;
    }
}
