return MLNet.Quantization.Cli.CliApp.RunOnConsole(args, qatMode: null);
