namespace FreshBooksConnect.LocalHost.Tests;

public sealed class LocalSettingsTests
{
    [Fact]
    public async Task Values_of_local_settings_json_are_read_with_double_underscores_as_sections_and_explicit_settings_win()
    {
        using var app = TempFunctionApp.Create(
            SampleApp.Metadata(SampleApp.Directory),
            File.ReadAllText(Path.Combine(SampleApp.Directory, "host.json")),
            localSettingsJson: """
            {
              "IsEncrypted": false,
              "Values": {
                "FUNCTIONS_WORKER_RUNTIME": "dotnet-isolated",
                "SampleSchedule": "0 0 0 1 1 *",
                "LocalHost__FunctionKey": "function-key-from-local-settings",
                "LocalHost__MasterKey": "master-key-from-local-settings"
              }
            }
            """);
        var options = SampleApp.Options();
        options.FunctionAppDirectory = app.Directory;
        options.LoadLocalSettingsFile = true;
        options.Settings.Remove("SampleSchedule");
        options.Settings["LocalHost:MasterKey"] = "master-key-from-settings";

        await using var host = await LocalFunctionsHost.StartAsync(options);

        Assert.Equal("function-key-from-local-settings", host.FunctionKey);
        Assert.Equal("master-key-from-settings", host.MasterKey);
    }

    [Fact]
    public async Task Command_line_arguments_are_settings()
    {
        var options = SampleApp.Options();
        options.Args = ["--LocalHost:FunctionKey", "function-key-from-args"];

        await using var host = await LocalFunctionsHost.StartAsync(options);

        Assert.Equal("function-key-from-args", host.FunctionKey);
    }
}
