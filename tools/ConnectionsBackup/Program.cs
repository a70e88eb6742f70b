using ConnectionsBackup;

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
return await BackupCommand.RunAsync(args, Environment.GetEnvironmentVariable, Console.Out, Console.Error, stop.Token);
