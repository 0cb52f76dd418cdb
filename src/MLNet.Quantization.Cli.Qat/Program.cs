return MLNet.Quantization.Cli.CliApp.RunOnConsole(args, new MLNet.Quantization.Cli.Qat.QatQuantize());
