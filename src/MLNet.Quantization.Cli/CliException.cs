namespace MLNet.Quantization.Cli;

/// <summary>Bad input from the user: exit code 2 with one <c>error:</c> line.</summary>
internal sealed class CliException(string message) : Exception(message);
