using System.Text;

namespace MLNet.Quantization.RealModels.Tests.Ocr;

/// <summary>Random words for text rendering: letters (a capital first now and then) and a few numbers, from a seeded generator.</summary>
internal sealed class RandomWords(Random random)
{
    private const string Letters = "abcdefghijklmnopqrstuvwxyzeeaaiioonnrrsstt";

    public string Word()
    {
        if (random.Next(8) == 0)
            return random.Next(1, 100000).ToString(System.Globalization.CultureInfo.InvariantCulture);
        int length = random.Next(2, 10);
        var word = new StringBuilder(length);
        for (int i = 0; i < length; i++)
            word.Append(Letters[random.Next(Letters.Length)]);
        if (random.Next(3) == 0)
            word[0] = char.ToUpperInvariant(word[0]);
        return word.ToString();
    }

    /// <summary>Words separated by single spaces, at least <paramref name="minWords"/>, until adding one more would pass <paramref name="fits"/>.</summary>
    public string Line(int minWords, int maxWords, Func<string, bool> fits)
    {
        int target = random.Next(minWords, maxWords + 1);
        string line = Word();
        for (int i = 1; i < target; i++)
        {
            string longer = line + " " + Word();
            if (!fits(longer))
                break;
            line = longer;
        }

        return line;
    }
}
