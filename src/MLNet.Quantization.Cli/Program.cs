using System.Runtime.InteropServices;
using MLNet.Quantization.Onnx;

// On SIGINT/SIGTERM no finally block runs: delete the temporary files of saves in progress, then let the signal end the process.
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => PendingFile.DeleteAllPending());
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => PendingFile.DeleteAllPending());
return MLNet.Quantization.Cli.CliApp.Run(args, Console.Out, Console.Error);
